"""Backends: where and how the model command runs.

`from rompy.backends import LocalConfig, DockerConfig, SlurmConfig` is the documented API; the
classes load on first use so that `import rompy.backends` stays cheap.
"""

_LAZY = {
    "BackendConfig": ("rompy.backends.base", "BackendConfig"),
    "Job": ("rompy.backends.base", "Job"),
    "LocalConfig": ("rompy.backends.local", "LocalConfig"),
    "DockerConfig": ("rompy.backends.docker", "DockerConfig"),
    "SlurmConfig": ("rompy.backends.slurm", "SlurmConfig"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'rompy.backends' has no attribute {name!r}")


__all__ = list(_LAZY)
