"""The whole validated configuration of a run, and the model contract.

Hydra composes a plain dict; `RunConfig.model_validate` turns it into typed objects.
Backends, postprocessors and models dispatch on their `type`, so a user's own classes
validate through exactly the same path as the built-ins.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SerializeAsAny, field_validator

from rompy._pluggable import PluggableConfig, StrictModel
from rompy.backends.base import BackendConfig
from rompy.postprocess.base import PostprocessorConfig

_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def new_run_id() -> str:
    """Unique per run: UTC time to the second plus 6 random hex digits."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def check_run_id(value: str) -> str:
    if not _RUN_ID_RE.match(value) or value in (".", "..") or ".." in value:
        raise ValueError(
            "run_id must be 1-200 letters, digits, '.', '_' or '-', start with a letter or "
            "digit and not contain '..' (it names a folder inside output_dir)"
        )
    return value


class ModelConfig(PluggableConfig):
    """What a model must do to be run by rompy: render INPUT, stage its files, name its command."""

    kind: ClassVar[str] = "model"

    def render_input(self, context: dict[str, Any]) -> str:
        """Text of the run's INPUT file. `context` holds run_id and the period."""
        raise NotImplementedError

    def stage(self, run_dir: Path) -> None:
        """Copy model files into the run directory (default: nothing)."""

    def command(self) -> str | list[str]:
        """The command that runs the model, from inside the run directory."""
        raise NotImplementedError


class SweepConfig(StrictModel):
    """Failure policy, resume and progress display of a multirun (`-m`); a single run ignores it."""

    fail_fast: bool = Field(
        False, description="Stop at the first failed member (running members are stopped, the rest not started)."
    )
    resume: bool = Field(
        False,
        description="Skip members that succeeded in an earlier run of the same sweep directory; "
        "run the others again, replacing their run directories.",
    )
    progress: Literal["auto", "live", "plain", "off"] = Field(
        "auto", description="'auto': a live line on a terminal, plain lines otherwise."
    )


class RunConfig(StrictModel):
    """One run: which model, on which backend, postprocessed how, written where."""

    run_id: str | None = Field(None, description="Name of the run directory; default: <UTC time>-<6 hex>.")
    output_dir: str = Field("output", description="Folder that holds one directory per run.")
    delete_existing: bool = Field(False, description="Replace an existing run directory of the same run_id.")
    dry_run: bool = Field(False, description="Compose, validate and pre-flight only; create nothing.")
    debug: bool = Field(False, description="Show tracebacks on errors.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Verbosity of rompy's own log.")
    backend: SerializeAsAny[BackendConfig]
    postprocessor: SerializeAsAny[PostprocessorConfig]
    model: SerializeAsAny[ModelConfig]
    sweep: SweepConfig = Field(default_factory=SweepConfig, description="How a multirun (-m) treats its members; ignored by a single run.")

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value):
        return None if value is None else check_run_id(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value):
        return value.upper() if isinstance(value, str) else value

    @field_validator("output_dir")
    @classmethod
    def _output_dir(cls, value):
        if not value.strip():
            raise ValueError("output_dir must not be empty")
        return value
