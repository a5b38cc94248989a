"""Backends: where and how the model command runs.

`from rompy.backends import LocalConfig, DockerConfig, SlurmConfig` is the documented API; the
classes load on first use so that `import rompy.backends` stays cheap.
"""

from rompy._lazy import lazy_getattr

_EXPORTS = {
    "BackendConfig": "rompy.backends.base",
    "BackendResult": "rompy.backends.base",
    "Job": "rompy.backends.base",
    "Resources": "rompy.backends.base",
    "LocalConfig": "rompy.backends.local",
    "DockerConfig": "rompy.backends.docker",
    "SlurmConfig": "rompy.backends.slurm",
}

__getattr__ = lazy_getattr(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
