"""What runs on this machine, read from /proc: a model's processes, found by the marker they carry."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from tests.helpers.cli import rompy_cmd


def stat_fields(pid: int) -> list[bytes] | None:
    """/proc/<pid>/stat from field 3 (state) on, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None


def is_running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    fields = stat_fields(pid)
    return bool(fields) and fields[0] != b"Z"


def children(ppid: int) -> list[int]:
    return [int(pid) for pid in filter(str.isdigit, os.listdir("/proc"))
            if (fields := stat_fields(int(pid))) and int(fields[1]) == ppid]


def processes_with_marker(marker: str) -> list[int]:
    """Pids of the live (not zombie) processes whose command line contains `marker`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if marker.encode() in cmd and is_running(int(pid)):
            pids.append(int(pid))
    return pids


def processes_matching(pattern: str) -> str:
    """`pgrep -af PATTERN`: the processes whose command line matches, one a line ("" if none)."""
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout.strip()


def unique_sleep() -> str:
    """A sleep length nothing else on the machine uses, to find a model's processes by it."""
    return f"7{uuid.uuid4().int % 100000:05d}"


def wait_for(predicate, timeout: float, step: float = 0.1):
    """Poll `predicate` until it returns something true or `timeout` passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def model_with_daemon(marker: str, notes: Path) -> str:
    """A bash model that leaves a setsid daemon `MARKER-daemon`, prints `started` and sleeps as `MARKER`.

    The daemon writes its pid to `notes` as it starts, and errors of starting it (a failed fork) go
    there too: when it is missing, `wait_for_model_and_daemon` tells "never started" from "killed".
    """
    return (f"#!/bin/bash\n(setsid bash -c 'echo \"daemon $$ started\" >> {notes}; exec -a {marker}-daemon sleep 300' &)"
            f" 2>> {notes}\necho started\nexec -a {marker} sleep 300\n")


def wait_for_model_and_daemon(marker: str, rompy: subprocess.Popen, notes: Path, timeout: float = 30) -> None:
    """Until both processes of `model_with_daemon(marker, notes)` run; if they do not, say which is
    missing, what the daemon noted and whether rompy still runs (its model may already have ended)."""
    wait_for(lambda: len(processes_with_marker(marker)) >= 2, timeout)
    found = {}
    for pid in processes_with_marker(marker):
        try:
            found[pid] = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            found[pid] = "(gone)"
    noted = notes.read_text().strip() if notes.exists() else "nothing"
    assert len(found) == 2, (f"after {timeout:g} s: {found or 'no process'} carry {marker}; the daemon noted "
                             f"{noted!r}; rompy {'still runs' if rompy.poll() is None else f'exited {rompy.returncode}'}")


def start_local_run(workdir: Path, run_id: str, script: str, script_name: str = "model.sh",
                    env: dict | None = None, stderr=subprocess.PIPE) -> subprocess.Popen:
    """Start rompy in the background on the bash model `script` (at WORKDIR/SCRIPT_NAME) and wait for `started`."""
    path = workdir / script_name
    path.write_text(script)
    path.chmod(0o755)
    proc = subprocess.Popen(rompy_cmd(f"run_id={run_id}", f"backend.command='{path}'"), cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert proc.stdout.readline().strip() == "started"
    return proc
