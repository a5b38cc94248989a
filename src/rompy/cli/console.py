"""Console logging for rompy's own logger only; the root logger is never touched."""

from __future__ import annotations

import logging
import sys

_HANDLER_NAME = "rompy-console"


def configure(level: str = "INFO") -> None:
    """Give the `rompy` logger one stderr handler at `level` (idempotent)."""
    logger = logging.getLogger("rompy")
    logger.setLevel(level)
    for handler in logger.handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.setLevel(level)
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("rompy: %(message)s"))
    handler.setLevel(level)
    logger.addHandler(handler)
    logger.propagate = False
