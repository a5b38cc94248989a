"""Base classes for every config model rompy validates.

`PluggableConfig` is the root of the three extensible kinds (backend,
postprocessor, model). Validating against the kind's base class looks at `type`
and validates against exactly one concrete class, so one mistake gives one error,
located as the user writes it (`backend.cpu`, never `backend.docker.cpu`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


class StrictModel(BaseModel):
    """Unknown keys are errors; input values are never echoed (they may be secrets)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, validate_default=True, defer_build=True)

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
    """A config chosen by its `type`: built-in, entry point, or `package.module:Class`."""

    kind: ClassVar[str] = ""
    type: str

    @model_validator(mode="wrap")
    @classmethod
    def _dispatch_on_type(cls, data: Any, handler):
        if cls.__dict__.get("is_kind_base") and isinstance(data, dict):
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
            return target.model_validate(data)
        return handler(data)
