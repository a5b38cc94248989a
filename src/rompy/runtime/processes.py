"""Run a command as its own process group and make sure nothing of it outlives the run.

Every process the model starts inherits a unique ROMPY_RUN_TOKEN in its environment.
Killing the process group catches ordinary children; scanning /proc for the token also
catches descendants that left the group (`setsid`, double fork).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from rompy.runtime.output import LineCopier, PipeCopier, readable

log = logging.getLogger("rompy.runtime")

TOKEN_VARIABLE = "ROMPY_RUN_TOKEN"
GRACE_SECONDS = 5.0
#: How long output is still copied after the model ended (a descendant may hold its pipes).
DRAIN_SECONDS = 5.0
_POLL_S = 0.05
#: Runs shorter than this cannot have cycled through the pid space (pid_max can be 32768).
SHORT_RUN_S = 10.0


def processes_with_token(token: str, born_after: int | None = None) -> list[int]:
    """PIDs of live processes whose environment carries this run's token.

    Runs after every model: raw reads, and with `born_after` (the model's pid, for a
    short run) only the pids allocated since, unless the pid counter wrapped.
    """
    needle = f"\0{TOKEN_VARIABLE}={token}\0".encode()
    newest = _newest_pid() if born_after is not None else None
    if newest is not None and 0 <= newest - born_after <= PROBED_PIDS:
        # A few pids since the model's: look at each rather than list every process.
        found = [pid for pid in range(born_after, newest + 1) if _carries(pid, needle) and _is_process(pid)]
    else:
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            if newest is not None and newest >= born_after and not born_after <= int(name) <= newest:
                continue
            if _carries(int(name), needle):
                found.append(int(name))
    return [pid for pid in found if pid != os.getpid()]


#: Up to this many pids allocated since the model's are looked at one by one (see processes_with_token).
PROBED_PIDS = 64


def _carries(pid: int, needle: bytes) -> bool:
    """Does the environment of `pid` hold `needle`? (False if it is gone or not readable.)"""
    try:
        fd = os.open(f"/proc/{pid}/environ", os.O_RDONLY)
    except OSError:
        return False
    try:
        chunks = [b"\0"]
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:
        return False
    finally:
        os.close(fd)
    chunks.append(b"\0")
    return needle in b"".join(chunks)


def _is_process(pid: int) -> bool:
    """A process rather than a thread of one: /proc answers for thread ids too, unlisted."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1]) == pid
    except (OSError, ValueError, IndexError):
        pass
    return False


def _newest_pid() -> int | None:
    """The pid the kernel allocated last (in this pid namespace), from /proc/loadavg."""
    try:
        with open("/proc/loadavg", "rb") as fh:
            return int(fh.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


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


def terminate_tree(proc: subprocess.Popen, token: str, grace: float = GRACE_SECONDS,
                   started: float | None = None) -> None:
    """SIGTERM the group and every token holder, SIGKILL what is left after `grace`.

    `started` (time.monotonic() at start) marks a short run, whose descendants all have
    pids allocated after the model's: only those are looked at in the usual case.
    """
    pgid = proc.pid
    short = started is not None and time.monotonic() - started < SHORT_RUN_S
    holders = processes_with_token(token, born_after=proc.pid if short else None)
    _signal_all(pgid, holders, signal.SIGTERM)
    if proc.poll() is not None and not [p for p in holders if not _is_zombie_or_gone(p)]:
        return  # the usual end: the model exited and left nothing (one look at /proc, not two)
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


def run_process_group(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    logs_dir: Path | None,
    grace: float = GRACE_SECONDS,
    token: str | None = None,
) -> tuple[str, int | None, str]:
    """Run `argv`, copy its output, enforce `timeout`, leave no process behind: (status, exit code, message)."""
    token = token or uuid.uuid4().hex
    env = {**env, TOKEN_VARIABLE: token}
    with _log_files(logs_dir) as log_files:
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            return "failed", 127, f"cannot start {argv[0]!r}: {exc.strerror or exc}"
        output = PipeCopier({pipe.fileno(): LineCopier(console, log_files.get(stream))
                             for pipe, console, stream in ((proc.stdout, sys.stdout, "stdout"),
                                                           (proc.stderr, sys.stderr, "stderr"))})
        try:
            exit_code = wait_for_exit(proc, timeout, output)
            return ("succeeded", 0, "") if exit_code == 0 else (
                "failed", exit_code, f"command exited with code {exit_code}")
        except subprocess.TimeoutExpired:
            terminate_tree(proc, token, grace)
            return "timed_out", proc.returncode, f"stopped after the {timeout:g} s timeout"
        finally:
            # Interrupted, finished or timed out: nothing started by the model may remain.
            terminate_tree(proc, token, grace if proc.poll() is None else 0.5, started)
            output.drain(within=DRAIN_SECONDS)
            for pipe in (proc.stdout, proc.stderr):
                pipe.close()


def wait_for_exit(proc: subprocess.Popen, timeout: float, output: PipeCopier) -> int:
    """proc.wait(timeout), copying `output` meanwhile, woken by the kernel when the process ends.

    Popen.wait with a timeout sleeps and polls, adding up to a millisecond or more to every
    short model; a pidfd becomes readable the moment the process exits (Linux 5.3+).
    Without one, the process is polled between reads.
    """
    deadline = time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            if pidfd is None and proc.poll() is not None:
                return proc.returncode
            ready = readable(output.fds() + ([pidfd] if pidfd is not None else []),
                             remaining if pidfd is not None else min(remaining, _POLL_S))
            if pidfd is not None and pidfd in ready:
                return proc.wait()
            for fd in ready:
                output.read(fd)
        raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        if pidfd is not None:
            os.close(pidfd)


@contextmanager
def _log_files(logs_dir: Path | None) -> Iterator[dict[str, IO[bytes]]]:
    """stdout.log and stderr.log in `logs_dir` (none without it), closed on the way out."""
    files: dict[str, IO[bytes]] = {}
    try:
        if logs_dir is not None:
            logs_dir.mkdir(parents=True, exist_ok=True)
            for stream in ("stdout", "stderr"):
                files[stream] = open(logs_dir / f"{stream}.log", "wb")
        yield files
    finally:
        for fh in files.values():
            try:
                fh.close()
            except OSError:  # buffered bytes that a full disk refused; already reported
                pass


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """This process's environment with `values` set, restored on the way out (e.g. around sbatch)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
