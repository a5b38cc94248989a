"""The service scripts tell their own daemons from other processes.

CI starts and reuses daemons (dockerd, two SLURM clusters) on one machine across runs.
A pid file left by a daemon that was killed can name, once process ids wrap, a thread
of another daemon of the same name, or the other cluster's daemon; a script that takes
it for its own skips starting its daemon, then waits for one that never answers.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "scripts" / "services" / "lib.sh"

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")

# A process named "fakectld" with a second thread, its argv ending in `-f <conf> -N n3`.
DAEMON = textwrap.dedent(
    """
    import ctypes, threading, time
    ctypes.CDLL(None).prctl(15, b"fakectld", 0, 0, 0)  # PR_SET_NAME: threads inherit it
    def report_tid():
        print(threading.get_native_id(), flush=True)
        time.sleep(60)
    threading.Thread(target=report_tid, daemon=True).start()
    time.sleep(60)
    """
)


def live_pid_from(pidfile: Path, *args: str) -> str:
    script = f'SELF=test; . "{LIB}"; live_pid_from "$@"'
    out = subprocess.run(
        ["bash", "-c", script, "bash", str(pidfile), *args],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.strip()


@pytest.fixture
def daemon(tmp_path):
    conf = tmp_path / "slurm.conf"
    proc = subprocess.Popen(
        [sys.executable, "-c", DAEMON, "-f", str(conf), "-N", "n3"], stdout=subprocess.PIPE, text=True
    )
    try:
        tid = proc.stdout.readline().strip()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{proc.pid}/comm").read_text().strip() != "fakectld":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield proc.pid, int(tid), conf
    finally:
        proc.kill()
        proc.wait()


def test_a_live_process_of_that_name_is_found(tmp_path, daemon):
    pid, _, _ = daemon
    pidfile = tmp_path / "d.pid"
    pidfile.write_text(f"{pid}\n")
    assert live_pid_from(pidfile, "fakectld") == str(pid)


def test_a_pid_file_naming_a_thread_is_stale(tmp_path, daemon):
    pid, tid, _ = daemon
    assert tid != pid and Path(f"/proc/{tid}/comm").read_text().strip() == "fakectld"
    pidfile = tmp_path / "d.pid"
    pidfile.write_text(f"{tid}\n")
    assert live_pid_from(pidfile, "fakectld") == ""


def test_a_daemon_of_another_cluster_is_not_ours(tmp_path, daemon):
    pid, _, conf = daemon
    pidfile = tmp_path / "d.pid"
    pidfile.write_text(f"{pid}\n")
    assert live_pid_from(pidfile, "fakectld", str(conf)) == str(pid)
    assert live_pid_from(pidfile, "fakectld", "/etc/slurm/slurm.conf") == ""


def test_a_daemon_of_another_emulated_node_is_not_ours(tmp_path, daemon):
    pid, _, conf = daemon
    pidfile = tmp_path / "slurmd-n5.pid"
    pidfile.write_text(f"{pid}\n")
    assert live_pid_from(pidfile, "fakectld", str(conf), "n3") == str(pid)
    assert live_pid_from(pidfile, "fakectld", str(conf), "n5") == ""


def test_a_dead_process_is_not_live(tmp_path):
    proc = subprocess.Popen(["true"])
    proc.wait()
    pidfile = tmp_path / "d.pid"
    pidfile.write_text(f"{proc.pid}\n")
    assert live_pid_from(pidfile, "true") == ""
