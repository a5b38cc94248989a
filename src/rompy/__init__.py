"""rompy: run numerical models from composable, validated configuration.

Importing rompy changes nothing global: it only attaches a NullHandler to its own
logger. Heavy pieces (Hydra, Pydantic models, the Docker SDK) load on first use.
"""

import logging as _logging

__version__ = "0.1.0"

_logging.getLogger("rompy").addHandler(_logging.NullHandler())

_LAZY = {
    "ModelRun": ("rompy.model", "ModelRun"),
    "TimeRange": ("rompy.core.time", "TimeRange"),
    "RunConfig": ("rompy.config", "RunConfig"),
    "run": ("rompy.run", "run"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'rompy' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
