"""Base classes of every config model: strict fields, and dispatch on `type`.

Validating against a kind's base class (backend, postprocessor, model) picks exactly
one class by its `type`, so one mistake gives one error, located as the user writes
it (`backend.cpu`, never `backend.docker.cpu`).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


class StrictModel(BaseModel):
    """Unknown keys are errors; input values are never echoed (they may be secrets)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, validate_default=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _paths_as_text(cls, data: Any):
        """A pathlib.Path is accepted wherever a path is, as text (lists of paths too)."""
        if not isinstance(data, dict) or not any(_has_path(value) for value in data.values()):
            return data
        return {key: ([cls.path_text(key, item) if isinstance(item, os.PathLike) else item for item in value]
                      if isinstance(value, list) else cls.path_text(key, value) if isinstance(value, os.PathLike)
                      else value)
                for key, value in data.items()}

    @classmethod
    def path_text(cls, field: str, path: os.PathLike) -> str:
        """How a Path given for `field` is written as text (a subclass may say more, e.g. a volume)."""
        return os.fspath(path)

    def to_yaml(self) -> str:
        """YAML text that `type(self).from_yaml` turns back into an equal object."""
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str):
        import yaml

        return cls.model_validate(yaml.safe_load(text))

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str):
        return cls.model_validate_json(text)


class PluggableConfig(StrictModel):
    """A config chosen by its `type`: built-in, entry point, or `package.module:Class`.

    A kind's base class sets `kind` in its own body (`kind: ClassVar[str] = "backend"`);
    validating against it dispatches on `type`. Its subclasses validate as themselves.
    """

    kind: ClassVar[str] = ""
    is_kind_base: ClassVar[bool] = False
    type: str

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.is_kind_base = "kind" in cls.__dict__

    @classmethod
    def contract_problem(cls) -> str | None:
        """What the class lacks of its kind's contract (None: nothing), told when a config names it
        rather than when a run reaches the missing method."""
        return None

    @model_validator(mode="wrap")
    @classmethod
    def _dispatch_on_type(cls, data: Any, handler):
        if cls.is_kind_base and isinstance(data, dict):
            from pydantic_core import PydanticCustomError

            from rompy.errors import ConfigError
            from rompy.registry import known_types, resolve

            type_name = data.get("type")
            if not isinstance(type_name, str) or not type_name:
                raise PydanticCustomError(
                    "missing_type",
                    "a {kind} needs a 'type': one of {choices}",
                    {"kind": cls.kind, "choices": ", ".join(known_types(cls.kind))},
                )
            try:
                target = resolve(cls.kind, type_name)
            except ConfigError as exc:
                raise PydanticCustomError("unknown_type", str(exc).split(": ", 1)[1]) from None
            if not (isinstance(target, type) and issubclass(target, cls)):
                raise PydanticCustomError(
                    "not_a_config", "{name} is not a rompy {kind} config class",
                    {"name": type_name, "kind": cls.kind},
                )
            problem = target.contract_problem()
            if problem:
                raise PydanticCustomError("not_a_config", "{name} {problem}", {"name": type_name, "problem": problem})
            return target.model_validate(data)
        return handler(data)


def is_existing_dir(path: str | os.PathLike) -> bool:
    """Like Path.is_dir, but False (not an exception) for names too long or otherwise unusable."""
    try:
        return os.path.isdir(os.path.expanduser(path))
    except (OSError, ValueError):
        return False


def is_existing_file(path: str | os.PathLike) -> bool:
    try:
        return os.path.isfile(os.path.expanduser(path))
    except (OSError, ValueError):
        return False


def _has_path(value: Any) -> bool:
    return isinstance(value, os.PathLike) or (isinstance(value, list) and any(isinstance(v, os.PathLike) for v in value))


def command_is_text(value: Any, key: str) -> Any:
    """`backend.command=true` reaches a model as a boolean (YAML reads `true`, `3`, `1.5` as values): say to quote it."""
    if isinstance(value, (bool, int, float)):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        kind = "a boolean" if isinstance(value, bool) else "a number"
        raise ValueError(f"a command is text, not {kind}; quote it: {key}='{text}'")
    return value
