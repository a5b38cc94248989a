"""SIGKILL of rompy: the record still says running; the next rompy start cleans up."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tests.helpers.cli import read_record, rompy_cmd, run_rompy
from tests.helpers.processes import model_with_daemon, processes_with_marker, start_local_run, wait_for_model_and_daemon


def test_next_start_kills_leftovers_and_marks_the_record(workdir, tmp_path_factory, figures):
    state = tmp_path_factory.mktemp("state")
    env = {**os.environ, "ROMPY_STATE_DIR": str(state)}
    marker = f"rompy-sigkill-{os.getpid()}"
    notes = workdir / "daemon.notes"
    proc = start_local_run(workdir, "killed", model_with_daemon(marker, notes), env=env, stderr=subprocess.DEVNULL)
    wait_for_model_and_daemon(marker, proc, notes)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)
    assert len(processes_with_marker(marker)) == 2, \
        "SIGKILL leaves the model running: that is what the next start fixes"
    assert read_record(workdir / "output/killed")["status"] == "running"

    nxt = run_rompy("dry_run=true", cwd=workdir, env={"ROMPY_STATE_DIR": str(state)})
    assert nxt.returncode == 0, nxt.stderr
    assert "rompy: run killed was left running by a killed rompy: cleaned up" in nxt.stderr
    time.sleep(0.3)
    assert processes_with_marker(marker) == []
    record = read_record(workdir / "output/killed")
    assert record["status"] == "interrupted"
    assert list(state.glob("active/*.json")) == []
    figures.record("SIGKILL of rompy during a local run, then a new start", faults_injected=1,
                   processes_left=0, records_left_running=0)


def test_a_live_rompys_run_is_left_alone(workdir, tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    env = {**os.environ, "ROMPY_STATE_DIR": str(state)}
    proc = subprocess.Popen(rompy_cmd("run_id=alive", "backend.command='echo started; sleep 20'"), cwd=workdir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        nxt = run_rompy("dry_run=true", cwd=workdir, env={"ROMPY_STATE_DIR": str(state)})
        assert nxt.returncode == 0
        assert "cleaned up" not in nxt.stderr
        assert proc.poll() is None, "a live rompy's model must keep running"
        assert read_record(workdir / "output/alive")["status"] == "running"
        assert len(list(state.glob("active/*.json"))) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
    assert list(state.glob("active/*.json")) == []
