"""A sweep folder's lock: one sweep writes into a folder at a time, and others can ask
whether one does (`rompy sweeps` shows it running) without taking it.

Standard library only: `rompy sweeps` reads it for every folder it lists.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path

from rompy.runtime.files import creatable_problem

LOCK_NAME = ".rompy-sweep.lock"


def sweep_is_running(sweep_dir: Path) -> bool:
    """True while a sweep holds `sweep_dir` (see claim_sweep_dir).

    On Linux the lock is looked up in /proc/locks, so asking never takes the lock, not even
    for an instant in which a sweep starting into the folder would be refused.
    """
    try:
        st = os.stat(Path(sweep_dir) / LOCK_NAME)
    except OSError:
        return False
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            table = fh.read()
    except OSError:
        return _lock_taken(Path(sweep_dir) / LOCK_NAME)
    me = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    return any(len(parts) > 5 and parts[1] == "FLOCK" and parts[5] == me
               for parts in (line.split() for line in table.splitlines()))


def _lock_taken(path: Path) -> bool:
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


@contextmanager
def claim_sweep_dir(sweep_dir: Path):
    """Create the sweep directory and hold it for this sweep: a second sweep into it is refused.

    An exclusive `flock` on a file inside it, held while the sweep runs (forked workers hold
    it too, so it outlives a killed sweep only as long as its members do). The lock file
    names the holder for the refusal message. Yields the lock's descriptor, for workers
    forked before the claim to be handed.
    """
    import fcntl

    from rompy.errors import ConfigError

    problem = creatable_problem(sweep_dir)
    if problem:
        raise ConfigError(f"hydra.sweep.dir: {problem}")
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(sweep_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise ConfigError(f"hydra.sweep.dir: cannot create {sweep_dir}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another rompy"
            raise ConfigError(f"hydra.sweep.dir: {sweep_dir} is in use by a sweep that is still running "
                              f"({holder}); wait for it to end, or choose another hydra.sweep.dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)
