"""SIGKILL of rompy during a Docker run: the next start removes the container and marks the record."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.helpers.cli import read_record, rompy_cmd, run_rompy
from tests.helpers.docker import BUSYBOX, containers_of

pytestmark = pytest.mark.docker


def test_sigkill_during_a_container_run_is_cleaned_up_next_start(workdir, docker_client, tmp_path_factory, figures):
    state = tmp_path_factory.mktemp("state")
    run_id = f"crash-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "ROMPY_STATE_DIR": str(state)}
    proc = subprocess.Popen(
        rompy_cmd(f"run_id={run_id}", "backend=docker", f"backend.image={BUSYBOX}",
                  "backend.pull_policy=never", "backend.command='echo started; sleep 300'"),
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    line = ""
    while "started" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    assert "started" in line
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(containers_of(docker_client, run_id)) == 1, "the container outlives a SIGKILLed rompy"
    assert read_record(workdir / "output" / run_id)["status"] == "running"

    nxt = run_rompy("dry_run=true", cwd=workdir, env={"ROMPY_STATE_DIR": str(state)})
    assert nxt.returncode == 0, nxt.stderr
    deadline = time.monotonic() + 30
    while containers_of(docker_client, run_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers_of(docker_client, run_id) == []
    assert read_record(workdir / "output" / run_id)["status"] == "interrupted"
    figures.record("SIGKILL of rompy during a Docker run, then a new start", faults_injected=1,
                   containers_left=0, records_left_running=0)
