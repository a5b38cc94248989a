"""Ctrl-C and SIGTERM during a local run: exit 130/143, nothing left running, record says so."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.helpers.cli import read_record
from tests.helpers.processes import (model_with_daemon, processes_with_marker, start_local_run,
                                     wait_for, wait_for_model_and_daemon)


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_model_and_records_interrupted(workdir, signum, code, figures):
    marker = f"rompy-signal-{signum}-{os.getpid()}"
    notes = workdir / "daemon.notes"
    proc = start_local_run(workdir, "sig", model_with_daemon(marker, notes))
    wait_for_model_and_daemon(marker, proc, notes)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    # rompy SIGKILLed the daemon before it exited; a loaded machine may take a moment to tear it down
    assert wait_for(lambda: not processes_with_marker(marker), timeout=10), processes_with_marker(marker)
    record = read_record(workdir / "output/sig")
    assert record["status"] == "interrupted" and record["failed_stage"] == "run"
    assert (workdir / "output/sig/INPUT").exists()
    figures.record(f"{signal.Signals(signum).name} during a local run with a setsid daemon",
                   faults_injected=1, exit_code=proc.returncode, processes_left=0)


def test_a_second_ctrl_c_does_not_cut_cleanup_short(workdir):
    """A model that ignores SIGTERM is still killed when the user presses Ctrl-C twice."""
    marker = f"rompy-stubborn-{os.getpid()}"
    proc = start_local_run(
        workdir, "twice",
        f"#!/bin/bash\ntrap '' TERM INT\n(setsid bash -c \"trap '' TERM INT; exec -a {marker}-d sleep 300\" &)\n"
        f"echo started\nwhile true; do sleep 0.2; done\n",
        script_name="stubborn.sh")
    proc.send_signal(signal.SIGINT)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    deadline = time.monotonic() + 10  # SIGKILLed processes vanish at once; allow a loaded machine
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with_marker(marker) == [], [open(f"/proc/{p}/cmdline", "rb").read()
                                                 for p in processes_with_marker(marker)]
    assert read_record(workdir / "output/twice")["status"] == "interrupted"
