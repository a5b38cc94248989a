"""Turn SIGINT and SIGTERM into an `Interrupted` exception in the main thread.

Raising (instead of exiting) lets every `finally` block run: the process group
is killed, the container removed and the record marked `interrupted`.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from rompy.errors import Interrupted


def _raise_interrupted(signum, frame):
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
    handler = _first_signal_only()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
