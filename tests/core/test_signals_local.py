"""Ctrl-C and SIGTERM during a local run: exit 130/143, nothing left running, record says so."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import read_record, rompy_cmd


def _alive(marker: str) -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            state = open(f"/proc/{pid}/stat", "rb").read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmd and state != b"Z":
            pids.append(int(pid))
    return pids


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_model_and_records_interrupted(workdir, signum, code, figures):
    marker = f"rompy-signal-{signum}-{os.getpid()}"
    script = workdir / "model.sh"
    script.write_text(f"#!/bin/bash\n(setsid bash -c 'exec -a {marker}-daemon sleep 300' &)\n"
                      f"echo started\nexec -a {marker} sleep 300\n")
    script.chmod(0o755)
    proc = subprocess.Popen(rompy_cmd("run_id=sig", f"backend.command='{script}'"), cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 10
    while len(_alive(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_alive(marker)) == 2
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    time.sleep(0.3)
    assert _alive(marker) == []
    record = read_record(workdir / "output/sig")
    assert record["status"] == "interrupted" and record["failed_stage"] == "run"
    assert (workdir / "output/sig/INPUT").exists()
    figures.record(f"{signal.Signals(signum).name} during a local run with a setsid daemon",
                   faults_injected=1, exit_code=proc.returncode, processes_left=0)


def test_a_second_ctrl_c_does_not_cut_cleanup_short(workdir):
    """A model that ignores SIGTERM is still killed when the user presses Ctrl-C twice."""
    marker = f"rompy-stubborn-{os.getpid()}"
    script = workdir / "stubborn.sh"
    script.write_text(f"#!/bin/bash\ntrap '' TERM INT\n(setsid bash -c \"trap '' TERM INT; exec -a {marker}-d sleep 300\" &)\n"
                      f"echo started\nwhile true; do sleep 0.2; done\n")
    script.chmod(0o755)
    proc = subprocess.Popen(rompy_cmd("run_id=twice", f"backend.command='{script}'"), cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGINT)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    deadline = time.monotonic() + 10  # SIGKILLed processes vanish at once; allow a loaded machine
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(marker) == [], [open(f"/proc/{p}/cmdline", "rb").read() for p in _alive(marker)]
    assert read_record(workdir / "output/twice")["status"] == "interrupted"
