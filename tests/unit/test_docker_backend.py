"""The Docker backend against a fake engine (tests/helpers/fake_docker.py): the real SDK, no engine, no root.

What a user notices of a container run: output streamed and logged, exit codes, one-line
errors before anything runs, and no container left after success, failure, Ctrl-C or a
killed rompy. Limits (CPU, memory, users) need a real engine: tests/docker checks them.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.helpers.cli import read_record, rompy_running, run_rompy
from tests.helpers.processes import wait_for

BUSYBOX = ["backend=docker", "backend.image=busybox"]


def one_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("rompy: error:")]
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    return lines[0]


def test_output_exit_code_and_logs_of_a_failing_command(workdir, fake_docker):
    proc = run_rompy(*BUSYBOX, "run_id=fails", "backend.command='echo out; echo err >&2; exit 3'", cwd=workdir)
    assert proc.returncode == 1
    assert "out" in proc.stdout.splitlines() and "err" in proc.stderr.splitlines()
    record = read_record(workdir / "output" / "fails")
    assert record["status"] == "failed" and record["exit_code"] == 3
    assert "exited with code 3" in record["message"]
    logs = workdir / "output" / "fails" / "logs"
    assert (logs / "stdout.log").read_text() == "out\n" and (logs / "stderr.log").read_text() == "err\n"
    assert fake_docker.live() == [], "the container is removed"


def test_the_demo_model_runs_in_its_run_directory(workdir, fake_docker):
    proc = run_rompy("backend=docker", "backend.image=python", "run_id=demo", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output" / "demo" / "outputs" / "dispersion.csv").is_file()
    details = read_record(workdir / "output" / "demo")["backend"]["details"]
    assert details["image"] == "python" and details["nano_cpus"] == 10**9
    (method, path), = [r for r in fake_docker.requests if r[1] == "/containers/create"]
    assert method == "POST" and fake_docker.live() == []


def test_a_container_the_engine_refuses_is_a_failed_run_and_leaves_nothing(workdir, fake_docker):
    fake_docker.fail_create = "Conflict: the name is in use"
    proc = run_rompy(*BUSYBOX, "run_id=refused", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 1
    record = read_record(workdir / "output" / "refused")
    assert "the Docker engine refused to create the container: Conflict" in record["message"]
    assert fake_docker.live() == []


def test_a_missing_image_is_one_line_before_anything_is_created(workdir, fake_docker):
    proc = run_rompy("backend=docker", "backend.image=nosuch:1.0", "backend.pull_policy=never", cwd=workdir)
    assert proc.returncode == 2
    assert "image nosuch:1.0 is not on the Docker engine" in one_line(proc)
    assert not (workdir / "output").exists()


def test_a_failed_pull_fails_the_run_in_one_line(workdir, fake_docker):
    proc = run_rompy("backend=docker", "backend.image=nosuch:1.0", cwd=workdir)
    assert proc.returncode == 1
    assert "pulling image nosuch:1.0 failed: pull access denied" in one_line(proc)


def test_no_engine_is_one_line_naming_where_rompy_looked(workdir, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{workdir}/absent.sock")
    proc = run_rompy(*BUSYBOX, cwd=workdir)
    assert proc.returncode == 2
    assert f"cannot reach a Docker engine at DOCKER_HOST=unix://{workdir}/absent.sock: no such socket" in one_line(proc)


def test_more_cpus_than_the_engine_has_is_refused_before_anything_runs(workdir, fake_docker):
    proc = run_rompy(*BUSYBOX, "backend.cpu=3", cwd=workdir)
    assert proc.returncode == 2
    assert "backend.cpu=3 but the Docker engine has 2 CPUs" in one_line(proc)


@pytest.mark.parametrize("command, exit_code", [("kill -9 $$", 137), ("true", 0)], ids=["killed", "exit-0"])
def test_out_of_memory_is_reported_as_such(workdir, fake_docker, command, exit_code):
    """The main process OOM-killed, or one of its processes killed while it still exited 0
    (the engine reported the OOM kill before the `die` event): the run failed, out of memory."""
    fake_docker.oom_exit = exit_code
    proc = run_rompy(*BUSYBOX, "run_id=oom", "backend.memory=64m", f"backend.command='{command}'", cwd=workdir)
    assert proc.returncode == 1
    record = read_record(workdir / "output" / "oom")
    assert record["message"].startswith("out of memory: killed by the kernel OOM killer at the 64m")
    assert record["backend"]["details"]["oom_killed"] is True


def test_the_exit_code_comes_from_the_die_event_and_from_wait_on_an_engine_without_events(workdir, fake_docker):
    """The `die` event gives the exit code before the engine has released the container's
    network; an engine (or proxy) without events is asked with `wait`, to the same result."""
    for events, run_id in ((True, "evented"), (False, "waited")):
        fake_docker.events = events
        fake_docker.requests.clear()
        proc = run_rompy(*BUSYBOX, f"run_id={run_id}", "backend.command='echo done'", cwd=workdir)
        assert proc.returncode == 0, proc.stderr
        record = read_record(workdir / "output" / run_id)
        assert record["status"] == "succeeded" and record["exit_code"] == 0
        assert record["backend"]["details"]["oom_killed"] is False
        waited = [path for method, path in fake_docker.requests if path.endswith("/wait")]
        assert bool(waited) is not events, fake_docker.requests
        assert fake_docker.live() == [], "the container is removed before rompy ends"


def test_remove_container_false_keeps_the_container(workdir, fake_docker):
    proc = run_rompy(*BUSYBOX, "run_id=kept", "backend.command='true'", "backend.remove_container=false", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    (kept,) = fake_docker.live()
    assert kept.labels["rompy.run_id"] == "kept" and kept.labels["rompy.remove"] == "false"


def test_ctrl_c_stops_and_removes_the_container(workdir, fake_docker):
    with rompy_running(*BUSYBOX, "run_id=stopped", "backend.command='echo started; sleep 300'", cwd=workdir) as proc:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    assert read_record(workdir / "output" / "stopped")["status"] == "interrupted"
    assert fake_docker.live() == []


def test_a_removal_already_under_way_is_waited_for(workdir, fake_docker):
    """The engine answers 409 "already in progress" (it went on with a removal a signal cut
    short, or another client's): the run ends only once the container is gone."""
    fake_docker.removal_in_progress_s = 1.5
    proc = run_rompy(*BUSYBOX, "run_id=slowgone", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert fake_docker.live() == []
    assert "could not remove" not in proc.stderr


def test_the_next_start_removes_what_a_killed_rompy_left(workdir, fake_docker):
    with rompy_running(*BUSYBOX, "run_id=orphan", "backend.command='echo started; sleep 300'", cwd=workdir) as proc:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(fake_docker.live()) == 1, "a SIGKILLed rompy cannot remove its container"
    t0 = time.monotonic()
    assert run_rompy("dry_run=true", cwd=workdir).returncode == 0  # any later start of the same registry
    assert wait_for(lambda: fake_docker.live() == [], 10), "the container a killed rompy left is removed"
    record = read_record(workdir / "output" / "orphan")
    assert record["status"] == "interrupted" and "1 container(s) removed" in record["message"]
    assert time.monotonic() - t0 < 30


def test_a_rompy_killed_while_it_removes_a_finished_container_leaves_it_to_the_next_start(workdir, fake_docker):
    """The record says succeeded while the engine still removes the container: a SIGKILL then
    leaves the container, and the run's active-run entry with it, so the next start removes
    it and the run stays succeeded."""
    fake_docker.removal_in_progress_s = 30  # the engine takes its time: rompy waits, and is killed
    with rompy_running(*BUSYBOX, "run_id=finishing", "backend.command='echo started'", cwd=workdir) as proc:
        record_path = workdir / "output" / "finishing" / "rompy-result.json"
        assert wait_for(lambda: record_path.exists() and read_record(record_path.parent)["status"] == "succeeded", 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(fake_docker.live()) == 1, "the killed rompy was still removing its container"
    assert run_rompy("dry_run=true", cwd=workdir).returncode == 0
    assert wait_for(lambda: fake_docker.live() == [], 10), "the next start removes it"
    assert read_record(workdir / "output" / "finishing")["status"] == "succeeded"


def test_a_signal_while_the_output_pump_starts_stops_and_removes_the_container(workdir, fake_docker, monkeypatch):
    """A SIGKILLed sweep's worker got SIGTERM as its member's log pump started: the cleanup then
    tried to join a thread never started, and the member was recorded failed with
    "RuntimeError: cannot join thread before it is started" instead of interrupted."""
    import pytest

    from rompy.backends import DockerConfig
    from rompy.backends.base import Job
    from rompy.backends.docker import container
    from rompy.errors import Interrupted

    def start_interrupted(self):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(container._Pump, "start", start_interrupted)
    run_dir = workdir / "run"
    run_dir.mkdir()
    job = Job(run_id="pump", run_dir=run_dir, command="sleep 30", logs_dir=run_dir / "logs")
    with pytest.raises(Interrupted):
        container.run_container(DockerConfig(image="busybox", timeout=600), job)
    assert fake_docker.live() == [], "the container is stopped and removed"
