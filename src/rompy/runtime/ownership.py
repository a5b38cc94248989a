"""Who owns what a run started: the labels on its containers and on its active-run entry.

What a SIGKILLed rompy started outlives it. To clean it up later without ever touching
what a live rompy owns, each container and registry entry names the process that made
it, precisely enough that a recycled pid cannot pass for the owner: host id, pid
namespace, boot id, pid and the pid's start time (field 22 of /proc/<pid>/stat), and
the registry (state folder) whose rompy cleans up after it. Standard library only: this
is read at every start.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path

LABEL_RUN_ID = "rompy.run_id"
LABEL_HOST = "rompy.owner_host"
LABEL_PID = "rompy.owner_pid"
LABEL_START = "rompy.owner_start"
LABEL_BOOT = "rompy.owner_boot"
LABEL_PIDNS = "rompy.owner_pidns"
LABEL_REMOVE = "rompy.remove"  # "false" when the user asked to keep the container
LABEL_REGISTRY = "rompy.registry"  # which active-run registry cleans up after the owner

STATE_VARIABLE = "ROMPY_STATE_DIR"


def state_dir() -> Path:
    """rompy's per-user state: ROMPY_STATE_DIR, else $XDG_STATE_HOME/rompy (~/.local/state/rompy)."""
    base = os.environ.get(STATE_VARIABLE) or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "rompy")
    return Path(base)


def registry_id() -> str:
    """Names the active-run registry (the state folder) this rompy reports to.

    Only a rompy of the same registry cleans up after a dead owner: it is the one that
    holds the dead run's entry and marks its record, so removing what the run started and
    settling its record stay with one owner.
    """
    return _registry_id(str(state_dir()))


@lru_cache(maxsize=8)
def _registry_id(folder: str) -> str:
    import hashlib

    return hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:16]


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return ""


@lru_cache(maxsize=None)
def host_id() -> str:
    """A stable id of this machine: /etc/machine-id, else the hostname."""
    return _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id") or socket.gethostname()


@lru_cache(maxsize=None)
def boot_id() -> str:
    return _read("/proc/sys/kernel/random/boot_id")


@lru_cache(maxsize=None)
def pid_namespace() -> str:
    """Pids are only comparable inside one pid namespace (rompy may run in a container)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot, or None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    if not fields or fields[0] == b"Z" or len(fields) < 20:
        return None
    return fields[19].decode()


def owner_labels(pid: int | None = None) -> dict[str, str]:
    """Labels naming the current process (or `pid`) as the owner of a container."""
    own = pid is None or pid == os.getpid()
    pid = os.getpid() if pid is None else pid
    return {
        LABEL_REGISTRY: registry_id(),
        LABEL_HOST: host_id(),
        LABEL_PIDNS: pid_namespace(),
        LABEL_BOOT: boot_id(),
        LABEL_PID: str(pid),
        LABEL_START: (_own_start(pid) if own else process_start(pid)) or "",
    }


@lru_cache(maxsize=4)
def _own_start(pid: int) -> str | None:
    """This process's start time, which never changes (keyed by pid: a forked child has its own)."""
    return process_start(pid)


def is_orphan(labels: dict[str, str]) -> bool:
    """True only for a container created by a rompy on this host that is no longer alive.

    Anything not clearly ours (other host, other pid namespace, missing labels) is
    not an orphan: when in doubt, leave it alone.
    """
    if labels.get(LABEL_HOST) != host_id() or not labels.get(LABEL_PID, "").isdigit():
        return False
    if labels.get(LABEL_PIDNS, "") != pid_namespace():
        return False
    if not labels.get(LABEL_START):
        return False
    if labels.get(LABEL_BOOT) and labels[LABEL_BOOT] != boot_id():
        return True  # the machine rebooted since: every owner of that boot is gone
    return process_start(int(labels[LABEL_PID])) != labels[LABEL_START]
