"""Clean-ups that may finish while rompy goes on with its own work, and always before it ends.

Removing a finished container waits for the engine to release the container's network
and file system. Neither a run's record nor the next sweep member needs that, so the
process's entry point lets such a clean-up go on beside them (`overlapping`) and waits
for it before the process ends. Anywhere else (the Python API, a forked worker) a
clean-up finishes before the call that asked for it returns, as a caller expects.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rompy.errors import Interrupted

log = logging.getLogger("rompy.runtime")

_overlapping_in: int | None = None  # the pid whose entry point waits for what runs beside it


class _CleanUp:
    """One clean-up running beside the caller, and what is to follow it (`after`)."""

    def __init__(self) -> None:
        self.finished = threading.Event()
        self.followers: list[tuple[Callable[[], None], str]] = []
        self.lock = threading.Lock()
        self.closed = False  # its followers were taken: later ones run at once


_pending: list[_CleanUp] = []


def _overlapping() -> bool:
    return _overlapping_in == os.getpid()  # never in a forked child: its parent's entry point waits


def _guarded(action: Callable[[], None], name: str) -> None:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - a thread's traceback would reach the console
        log.warning("%s: %s", name, exc)


def clean_up(action: Callable[[], None], name: str) -> None:
    """Run `action` now, or beside the caller's own work where the entry point waits for it."""
    if not _overlapping():
        action()
        return
    settle()  # one in flight at most: its member had a whole run to finish in
    item = _CleanUp()

    def run() -> None:
        _guarded(action, name)
        with item.lock:
            item.closed = True
        for follower, follower_name in item.followers:
            _guarded(follower, follower_name)
        item.finished.set()

    _pending.append(item)
    threading.Thread(target=run, name=name).start()  # not a daemon: never cut off at exit


def after(action: Callable[[], None], name: str) -> None:
    """Run `action` once the clean-up under way has finished (at once if none is).

    For bookkeeping that must outlast the clean-up, such as the active-run entry that
    lets a later rompy remove a container a killed rompy was still removing.
    """
    if _overlapping():
        for item in reversed(_pending):
            with item.lock:
                if not item.closed:
                    item.followers.append((action, name))
                    return
    action()


def settle() -> None:
    """Wait for every clean-up still running; a signal meanwhile does not cut one short.

    An event is waited on, not the thread: a join that a signal interrupts may take the
    thread for finished.
    """
    while _pending:
        try:
            _pending[0].finished.wait()
        except (Interrupted, KeyboardInterrupt):
            continue
        _pending.pop(0)


def pending() -> int:
    """How many clean-ups still run beside the caller."""
    return sum(not item.finished.is_set() for item in _pending)


@contextmanager
def overlapping() -> Iterator[None]:
    """Within this block (a process's entry point), clean-ups run beside rompy's work."""
    global _overlapping_in
    _overlapping_in = os.getpid()
    try:
        yield
    finally:
        _overlapping_in = None
        settle()
