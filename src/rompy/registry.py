"""Find the config class for a `type` value, for backends, postprocessors and models.

Three sources, in order: rompy's built-ins (imported lazily), classes registered
under an entry-point group by installed packages, and an import path written
straight into a config file (`type: "my_pkg.module:MyConfig"`), which needs no
packaging at all.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from rompy.errors import ConfigError

BUILTINS: dict[str, dict[str, str]] = {
    "backend": {
        "local": "rompy.backends.local:LocalConfig",
        "docker": "rompy.backends.docker:DockerConfig",
        "slurm": "rompy.backends.slurm:SlurmConfig",
    },
    "postprocessor": {
        "noop": "rompy.postprocess.noop:NoopConfig",
        "archive": "rompy.postprocess.archive:ArchiveConfig",
        "summary": "rompy.postprocess.summary:SummaryConfig",
    },
    "model": {
        "demo": "rompy.demo:DemoModelConfig",
        "template": "rompy.template:TemplateModelConfig",
    },
}

ENTRY_POINT_GROUPS: dict[str, tuple[str, ...]] = {
    "backend": ("rompy.backends",),
    # `rompy.postprocess.config` is the group upstream rompy's plugin packages use.
    "postprocessor": ("rompy.postprocessors", "rompy.postprocess.config"),
    # `rompy.config` is the group upstream rompy's model packages register their configs under.
    "model": ("rompy.models", "rompy.config"),
}


#: Where an installed package names the package that holds its config group options
#: (`veros = "rompy_veros.conf"`): read by `rompy --help`, which lists options without Hydra.
CONFIG_GROUPS_ENTRY_POINT = "rompy.config_groups"


@lru_cache(maxsize=None)
def plugin_entry_points() -> dict[str, dict[str, object]]:
    """Entry points of installed packages per kind (and `config_groups`), name -> entry point,
    the first group winning.

    One pass over every installed package's metadata serves every kind: each pass costs a
    run's start-up what reading all those files costs.
    """
    from importlib.metadata import entry_points

    every = entry_points()
    found: dict[str, dict[str, object]] = {}
    for kind, groups in {**ENTRY_POINT_GROUPS, "config_groups": (CONFIG_GROUPS_ENTRY_POINT,)}.items():
        found[kind] = {}
        for group in groups:
            for ep in every.select(group=group):
                found[kind].setdefault(ep.name, ep)
    return found


def _entry_points(kind: str) -> dict[str, object]:
    return plugin_entry_points()[kind]


def _import_path(path: str):
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    obj = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def known_types(kind: str) -> list[str]:
    """All `type` names available for a kind, built-ins first."""
    names = list(BUILTINS[kind])
    names += [n for n in _entry_points(kind) if n not in names]
    return names


def resolve_import_path(path: str):
    """The object `package.module:Name` names; ConfigError saying what is wrong otherwise."""
    if ":" not in path:
        raise ConfigError(f"{path!r} is not an import path; write 'package.module:ClassName'")
    try:
        return _import_path(path)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import {path!r} ({exc}); an import path is written "
                          "'package.module:ClassName'") from None


def kind_of(cls) -> str:
    """backend, postprocessor or model: the kind a config class belongs to."""
    from rompy._pluggable import PluggableConfig

    if isinstance(cls, type) and issubclass(cls, PluggableConfig) and cls.kind:
        return cls.kind
    raise ConfigError(f"{getattr(cls, '__name__', cls)!r} is not a rompy backend, postprocessor or model config "
                      "class (subclass BackendConfig, PostprocessorConfig or ModelConfig)")


@lru_cache(maxsize=None)
def resolve(kind: str, type_name: str):
    """Return the config class for `type_name`, or raise ConfigError listing the choices."""
    if type_name in BUILTINS[kind]:
        return _import_path(BUILTINS[kind][type_name])
    if ":" in type_name:
        try:
            return resolve_import_path(type_name)
        except ConfigError as exc:
            raise ConfigError(f"{kind}.type: {exc}") from None
    eps = _entry_points(kind)
    if type_name in eps:
        return eps[type_name].load()
    choices = ", ".join(known_types(kind))
    raise ConfigError(
        f"{kind}.type: unknown {kind} type {type_name!r}; choose one of: {choices}, "
        "or an import path 'package.module:ClassName'"
    )
