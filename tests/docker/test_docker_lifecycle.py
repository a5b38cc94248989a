"""Nothing is left behind: signals, the timeout, and orphans of a SIGKILLed rompy.

Real `python -m rompy` processes run a long container; the tests send real
signals and look for the container by its `rompy.run_id` label afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from rompy.runtime.ownership import owner_labels
from rompy.backends.docker.reaper import reap_orphans
from tests.helpers.cli import read_record, rompy_cmd, run_rompy
from tests.helpers.docker import BUSYBOX, LineReader, containers_of, remove_containers, wait_running

pytestmark = pytest.mark.docker


def _start(tmp_path, run_id, command: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "ROMPY_CONFIG_PATH"}
    return subprocess.Popen(
        rompy_cmd("backend=docker", f"backend.image={BUSYBOX}", f"backend.command={command!r}",
                   f"run_id={run_id}", f"output_dir={tmp_path / 'out'}"),
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_and_removes_the_container(docker_client, tmp_path, run_id, signum, code):
    proc = _start(tmp_path, run_id, "echo live-marker; sleep 300")
    out = LineReader(proc.stdout)
    try:
        # Logs are live: the line arrives while the container is still running.
        assert out.wait_for("live-marker", timeout=90) is not None, proc.stderr.read()
        assert wait_running(docker_client, run_id)["Labels"]["rompy.owner_pid"] == str(proc.pid)
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == code
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not containers_of(docker_client, run_id)
    record = read_record(tmp_path / "out" / run_id)
    assert record["status"] == "interrupted"
    assert (tmp_path / "out" / run_id / "logs" / "stdout.log").read_text() == "live-marker\n"


@pytest.mark.slow
def test_timeout_stops_removes_and_records_timed_out(docker_client, tmp_path, run_id):
    t0 = time.monotonic()
    proc = run_rompy("backend=docker", f"backend.image={BUSYBOX}", "backend.timeout=60",
                     "backend.command='echo started; sleep 300'", f"run_id={run_id}",
                     f"output_dir={tmp_path / 'out'}", cwd=tmp_path, timeout=200)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr
    assert 60 <= elapsed < 120
    record = read_record(tmp_path / "out" / run_id)
    assert record["status"] == "timed_out"
    assert "60 s timeout" in record["message"]
    assert record["exit_code"] in (137, 143)
    assert "started" in proc.stdout
    assert not containers_of(docker_client, run_id)


def _labelled_container(client, run_id: str, labels: dict) -> str:
    return client.api.create_container(
        BUSYBOX, ["sleep", "300"], labels={"rompy.run_id": run_id, **labels},
        host_config=client.api.create_host_config(),
    )["Id"]


def _exists(client, container_id: str) -> bool:
    from docker.errors import NotFound

    try:
        client.api.inspect_container(container_id)
        return True
    except NotFound:
        return False


def test_sigkilled_rompy_leaves_an_orphan_that_the_next_start_removes(docker_client, tmp_path, run_id):
    proc = _start(tmp_path, run_id, "sleep 300")
    try:
        wait_running(docker_client, run_id)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)  # reaped: the owner pid is gone, not a zombie
    finally:
        if proc.poll() is None:
            proc.kill()
    # The next rompy start of the same registry (any command line; here a dry run of the local backend).
    again = run_rompy("dry_run=true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert not containers_of(docker_client, run_id)


def test_reaper_spares_live_owners_and_foreign_containers(docker_client, tmp_path, run_id):
    live = _labelled_container(docker_client, run_id, owner_labels())  # owned by this (live) test
    foreign = docker_client.api.create_container(  # no rompy owner labels at all
        BUSYBOX, ["sleep", "300"], labels={"rompy-test.case": run_id})["Id"]
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    orphan = _labelled_container(docker_client, run_id, owner_labels(dead_pid.pid) | {
        "rompy.owner_start": "1"})  # pid gone (or reused: the start time cannot match)
    recycled = _labelled_container(docker_client, run_id, owner_labels() | {
        "rompy.owner_start": "1"})  # a live pid, but not the process that created it
    kept = _labelled_container(docker_client, run_id, owner_labels(dead_pid.pid) | {
        "rompy.owner_start": "1", "rompy.remove": "false"})
    try:
        docker_client.api.start(kept)
        reaped = reap_orphans(docker_client)
        assert not _exists(docker_client, orphan) and not _exists(docker_client, recycled)
        assert _exists(docker_client, live) and _exists(docker_client, foreign)
        assert _exists(docker_client, kept)  # kept, but no longer running
        assert docker_client.api.inspect_container(kept)["State"]["Running"] is False
        assert orphan in reaped
        with pytest.MonkeyPatch.context() as patch:  # another registry's rompy leaves them alone
            patch.setenv("ROMPY_STATE_DIR", str(tmp_path / "another-registry"))
            other = _labelled_container(docker_client, run_id, owner_labels(dead_pid.pid) | {"rompy.owner_start": "1"})
        assert reap_orphans(docker_client) == [] and _exists(docker_client, other)
        remove_containers(docker_client, [other])
    finally:
        remove_containers(docker_client, (live, foreign, orphan, recycled, kept))
