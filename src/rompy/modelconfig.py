"""The model contract: what a model config must do to be run by rompy.

A model config renders the run's INPUT, stages whatever else the model needs
into the run directory, and names the command that runs it there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rompy.base import PluggableConfig


class ModelConfig(PluggableConfig):
    kind: ClassVar[str] = "model"
    is_kind_base: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.is_kind_base = False

    def render_input(self, context: dict[str, Any]) -> str:
        """Text of the run's INPUT file. `context` holds run_id and the period."""
        raise NotImplementedError

    def stage(self, run_dir: Path) -> None:
        """Copy model files into the run directory (default: nothing)."""

    def command(self) -> str | list[str]:
        """The command that runs the model, from inside the run directory."""
        raise NotImplementedError
