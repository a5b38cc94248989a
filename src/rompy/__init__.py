"""rompy: run numerical models from composable, validated configuration.

Importing rompy changes nothing global: it only attaches a NullHandler to its own
logger. The names below load their modules (Hydra, Pydantic models) on first use.
"""

import logging as _logging

from rompy._lazy import lazy_getattr

__version__ = "0.1.0"

_logging.getLogger("rompy").addHandler(_logging.NullHandler())

_EXPORTS = {
    "ModelRun": "rompy.model",
    "TimeRange": "rompy.core.time",
    "RunConfig": "rompy.config",
    "ModelConfig": "rompy.config",
    "run": "rompy.run",
    "RunOutcome": "rompy.run",
    "RunRecord": "rompy.record",
    "RompyError": "rompy.errors",
    "ConfigError": "rompy.errors",
    "PreflightError": "rompy.errors",
    "RunFailed": "rompy.errors",
    "Interrupted": "rompy.errors",
}

__getattr__ = lazy_getattr(__name__, _EXPORTS)

__all__ = ["__version__", *_EXPORTS]
