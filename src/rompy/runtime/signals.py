"""Turn SIGINT and SIGTERM into an `Interrupted` exception in the main thread.

Raising (instead of exiting) lets every `finally` block run: the process group
is killed, the container removed and the record marked `interrupted`. Bookkeeping
that must not stop half-way (a sweep reading what its members reported) runs in a
`held()` block, at whose end a signal that arrived inside it is raised.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from rompy.errors import Interrupted


class _Hold:
    depth = 0                  # nested held() blocks open in the main thread
    pending: int | None = None  # a signal that arrived inside them


def _raise_interrupted(signum, frame):
    if _Hold.depth:
        _Hold.pending = signum
        return
    raise Interrupted(signum)


@contextmanager
def held():
    """Within this block a signal waits: Interrupted is raised when the outermost block ends.

    For work whose half would be lost, such as a report read from a file and not yet
    recorded. Blocks that wait on something outside rompy (a model, a poll) stay outside.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _Hold.depth += 1
    try:
        yield
    finally:
        _Hold.depth -= 1
        if not _Hold.depth and _Hold.pending is not None:
            signum, _Hold.pending = _Hold.pending, None
            raise Interrupted(signum)


def _first_signal_only():
    """A handler that raises Interrupted once and ignores later signals.

    A second Ctrl-C must not cut short the cleanup the first one started (a
    model that ignores SIGTERM would be left running); cleanup is bounded by
    the backend's grace period, after which it kills.
    """
    fired = []

    def handler(signum, frame):
        if fired:
            return
        fired.append(signum)
        _raise_interrupted(signum, frame)

    handler.rompy_first_signal_only = True
    return handler


def _installed() -> bool:
    return getattr(signal.getsignal(signal.SIGINT), "rompy_first_signal_only", False)


@contextmanager
def interruptible():
    """Within this block SIGINT/SIGTERM raise Interrupted (main thread only).

    A block inside another keeps the outer block's handler, so only the first signal
    of the outermost block raises, however deep the cleanup it starts.
    """
    if threading.current_thread() is not threading.main_thread() or _installed():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    handler = _first_signal_only()
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def interrupt_on_first_signal() -> None:
    """For the rest of this process, the first SIGINT/SIGTERM raises Interrupted; later ones are ignored.

    For a forked sweep worker: it gets a fresh handler (the one inherited from the sweep
    may have fired already), and every `interruptible()` block of its member keeps it.
    """
    _Hold.depth, _Hold.pending = 0, None  # a fork inside a held() block must not hold our signals
    handler = _first_signal_only()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
