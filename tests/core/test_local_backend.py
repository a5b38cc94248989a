"""The local backend with real processes: exit codes, env, streaming, logs, timeouts."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.helpers.cli import read_record, rompy_cmd, run_rompy
from tests.helpers.processes import processes_with_marker


def test_exit_code_is_recorded_and_run_fails(workdir):
    proc = run_rompy("run_id=r1", "backend.command='exit 3'", cwd=workdir)
    assert proc.returncode == 1
    record = read_record(workdir / "output" / "r1")
    assert record["status"] == "failed"
    assert record["failed_stage"] == "run"
    assert record["exit_code"] == 3
    assert "Traceback" not in proc.stderr


def test_env_vars_and_cpu_reach_the_process(workdir):
    proc = run_rompy(
        "run_id=r2", "backend.cpu=3", "+backend.env_vars.MODEL_CONFIG=production",
        "+backend.env_vars.COUNT=7",
        "backend.command='echo $MODEL_CONFIG $COUNT $OMP_NUM_THREADS'", cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "production 7 3" in proc.stdout
    assert (workdir / "output/r2/logs/stdout.log").read_text().strip() == "production 7 3"


def test_shell_false_splits_and_does_not_expand(workdir):
    proc = run_rompy("run_id=r3", "backend.shell=false", "backend.command='echo $HOME'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "$HOME" in proc.stdout


def test_list_command_runs_without_shell(workdir):
    proc = run_rompy("run_id=r4", "backend.command=[printf,'%s-%s',a b,c]", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "a b-c" in proc.stdout


def test_capture_output_false_writes_no_logs(workdir):
    proc = run_rompy("run_id=r5", "backend.capture_output=false", "backend.command='echo hi'", cwd=workdir)
    assert proc.returncode == 0
    assert "hi" in proc.stdout
    assert not (workdir / "output/r5/logs/stdout.log").exists()


def test_working_dir_is_used(workdir, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere")
    proc = run_rompy("run_id=r6", f"backend.working_dir={other}", "backend.command='pwd > here.txt'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (other / "here.txt").read_text().strip() == str(other)


def test_stderr_is_streamed_and_logged(workdir):
    proc = run_rompy("run_id=r7", "backend.command='echo oops >&2'", cwd=workdir)
    assert "oops" in proc.stderr
    assert (workdir / "output/r7/logs/stderr.log").read_text() == "oops\n"


def test_output_is_streamed_live(workdir):
    """A line printed before a long sleep reaches our stdout before the model ends."""
    proc = subprocess.Popen(
        rompy_cmd("run_id=r8", "backend.command='echo first; sleep 5; echo second'"),
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = proc.stdout.readline()
    first_seen = time.monotonic()
    rest = proc.stdout.read()
    proc.wait()
    finished = time.monotonic()
    assert line.strip() == "first"
    assert finished - first_seen > 4, "the first line must arrive while the model still sleeps"
    assert "second" in rest


@pytest.mark.slow
def test_timeout_kills_every_descendant_including_setsid_ones(workdir):
    marker = f"rompy-timeout-marker-{os.getpid()}"
    # The main process, a double-forked daemon and a setsid one: all must die at the timeout.
    script = workdir / "spawn.sh"
    script.write_text(
        f"#!/bin/bash\n(setsid bash -c 'exec -a {marker}-setsid sleep 1004' &)\n"
        f"(bash -c 'exec -a {marker}-double sleep 1005' &) &\n"
        f"exec -a {marker}-main sleep 1006\n"
    )
    script.chmod(0o755)
    start = time.monotonic()
    proc = run_rompy("run_id=t1", "backend.timeout=60", f"backend.command='{script}'", cwd=workdir)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    record = read_record(workdir / "output/t1")
    assert record["status"] == "timed_out"
    assert 60 <= elapsed < 80
    time.sleep(0.5)
    assert processes_with_marker(marker) == []


@pytest.mark.slow
def test_a_model_that_keeps_printing_still_times_out(workdir):
    """The output is copied by the thread that enforces the timeout: steady output must not hold it off."""
    start = time.monotonic()
    proc = run_rompy("run_id=t2", "backend.timeout=60",
                     "backend.command='while true; do echo tick; sleep 0.002; done'", cwd=workdir)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    record = read_record(workdir / "output/t2")
    assert record["status"] == "timed_out"
    assert 60 <= elapsed < 80
    assert proc.stdout.count("tick") > 1000
    assert (workdir / "output/t2/logs/stdout.log").read_text().count("tick\n") > 1000


def test_marker_processes_are_visible_while_running(workdir):
    """Guards the test above: the marker processes do exist while the model runs."""
    marker = f"rompy-visible-marker-{os.getpid()}"
    script = workdir / "spawn.sh"
    script.write_text(f"#!/bin/bash\n(setsid bash -c 'exec -a {marker}-setsid sleep 60' &)\n"
                      "while [ ! -e release ]; do sleep 0.1; done\n")
    script.chmod(0o755)
    proc = subprocess.Popen(rompy_cmd("run_id=v1", f"backend.command='{script}'"), cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    seen = []
    while not seen and time.monotonic() < deadline:
        seen = processes_with_marker(marker)
        time.sleep(0.1)
    (workdir / "output/v1/release").touch()
    assert proc.wait(timeout=30) == 0
    time.sleep(0.5)
    assert seen, "the setsid daemon should have been running"
    assert processes_with_marker(marker) == [], "a daemon left behind after success must be stopped"
