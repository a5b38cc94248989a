"""When Python's cyclic garbage collector runs: paused for start-up, then on as usual.

Start-up (imports, composition, validation) builds many long-lived objects and little
garbage, which the collector would walk again and again. While paused, nothing is
collected; `start_up_over()` freezes what start-up built (later collections skip it)
and turns the collector back on. It acts once per command: a sweep calls it before
composing its members, so that the members' garbage is collected, never frozen.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

_resume = None  # set while a command's start-up is paused


@contextmanager
def paused_for_start_up(keep_frozen: bool = False):
    """Pause the collector for a command; leaving the block unfreezes start-up's objects
    again (only if nothing was frozen before), unless the process ends next (`keep_frozen`)."""
    global _resume
    was_enabled, frozen_before = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    resumed = False

    def resume() -> None:
        nonlocal resumed
        if not resumed:
            resumed = True
            gc.freeze()
            if was_enabled:
                gc.enable()

    saved, _resume = _resume, resume
    try:
        yield
    finally:
        _resume = saved
        if keep_frozen:
            resume()
        elif not frozen_before:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def start_up_over() -> None:
    """Start-up is over: freeze what it built and collect as usual from now on (once)."""
    if _resume is not None:
        _resume()
