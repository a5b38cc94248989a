"""Postprocessors: what happens to a run's outputs after the model finished.

base (the contract: PostprocessorConfig, PostprocessResult), and the built-ins noop,
archive and summary.
"""

from rompy._lazy import lazy_getattr

_EXPORTS = {
    "PostprocessorConfig": "rompy.postprocess.base",
    "PostprocessResult": "rompy.postprocess.base",
    "NoopConfig": "rompy.postprocess.noop",
    "ArchiveConfig": "rompy.postprocess.archive",
    "SummaryConfig": "rompy.postprocess.summary",
}

__getattr__ = lazy_getattr(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
