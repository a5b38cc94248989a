"""Run a command as its own process group and make sure nothing of it outlives the run.

Every process the model starts inherits a unique ROMPY_RUN_TOKEN in its
environment. Killing the process group catches ordinary children; scanning
/proc for the token also catches descendants that left the group (`setsid`,
double fork), which upstream rompy let run on after a timeout.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO

from rompy.results import BackendResult, utcnow

log = logging.getLogger("rompy.backends.process")

TOKEN_VARIABLE = "ROMPY_RUN_TOKEN"
GRACE_SECONDS = 5.0


def processes_with_token(token: str) -> list[int]:
    """PIDs of live processes whose environment carries this run's token."""
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def _signal_all(pgid: int, pids: list[int], signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _is_zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def terminate_tree(proc: subprocess.Popen, token: str, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM the group and every token holder, SIGKILL what is left after `grace`."""
    pgid = proc.pid
    _signal_all(pgid, processes_with_token(token), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()
        alive = [p for p in processes_with_token(token) if not _is_zombie_or_gone(p)]
        if proc.returncode is not None and not alive:
            return
        time.sleep(0.05)
    for _ in range(50):
        survivors = [p for p in processes_with_token(token) if not _is_zombie_or_gone(p)]
        _signal_all(pgid, survivors, signal.SIGKILL)
        proc.poll()
        if proc.returncode is not None and not survivors:
            return
        time.sleep(0.02)


def _pump(stream: IO[bytes], console: IO[str], log_file: IO[bytes] | None) -> None:
    """Copy one stream line by line to the console and, optionally, a log file."""
    for raw in iter(stream.readline, b""):
        if log_file is not None:
            try:
                log_file.write(raw)
                log_file.flush()
            except OSError as exc:  # e.g. disk full: keep the console stream going
                log.error("cannot write %s: %s; logging to the console only", log_file.name, exc.strerror)
                log_file = None
        try:
            console.write(raw.decode("utf-8", errors="replace"))
            console.flush()
        except (ValueError, OSError):  # console closed: keep logging to the file
            pass
    stream.close()


def run_process_group(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    logs_dir: Path | None,
    grace: float = GRACE_SECONDS,
    token: str | None = None,
) -> BackendResult:
    """Run `argv`, stream its output, enforce `timeout`, and leave no process behind."""
    token = token or uuid.uuid4().hex
    env = {**env, TOKEN_VARIABLE: token}
    log_files: dict[str, IO[bytes]] = {}
    logs: dict[str, str] = {}
    if logs_dir is not None:
        logs_dir.mkdir(parents=True, exist_ok=True)
        for stream in ("stdout", "stderr"):
            path = logs_dir / f"{stream}.log"
            log_files[stream] = open(path, "wb")
            logs[stream] = str(path)
    started, t0 = utcnow(), time.monotonic()
    status, message, exit_code = "failed", "", None
    try:
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            message = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
            exit_code = 127
            return _result(status, exit_code, message, started, t0, logs)
        pumps = [
            threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, log_files.get("stdout")), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, sys.stderr, log_files.get("stderr")), daemon=True),
        ]
        try:
            # Started inside the try: a signal arriving while a thread starts must still
            # reach the cleanup in `finally` (a model can print before both pumps run).
            for thread in pumps:
                thread.start()
            exit_code = proc.wait(timeout=timeout)
            status = "succeeded" if exit_code == 0 else "failed"
            message = "" if exit_code == 0 else f"command exited with code {exit_code}"
        except subprocess.TimeoutExpired:
            terminate_tree(proc, token, grace)
            exit_code = proc.returncode
            status, message = "timed_out", f"stopped after the {timeout:g} s timeout"
        finally:
            # Interrupted, finished or timed out: nothing started by the model may remain.
            terminate_tree(proc, token, grace if proc.poll() is None else 0.5)
            for thread in pumps:
                if thread.ident is not None:
                    thread.join(timeout=5)
        return _result(status, exit_code, message, started, t0, logs)
    finally:
        for fh in log_files.values():
            try:
                fh.close()
            except OSError:  # buffered bytes that a full disk refused; already reported
                pass


def _result(status, exit_code, message, started, t0, logs) -> BackendResult:
    return BackendResult(
        status=status, exit_code=exit_code, message=message, started_at=started,
        finished_at=utcnow(), duration_s=round(time.monotonic() - t0, 6), logs=logs,
    )
