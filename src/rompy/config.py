"""The whole validated configuration of a run, and the model contract.

Hydra composes a plain dict; `RunConfig.model_validate` turns it into typed objects.
Backends, postprocessors and models dispatch on their `type`, so a user's own classes
validate through exactly the same path as the built-ins.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SerializeAsAny, field_validator

from rompy._pluggable import PluggableConfig, StrictModel
from rompy.backends.base import BackendConfig
from rompy.core.time import TimeRange
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


@dataclass
class Runtime:
    """What a model is told about the run it is part of when it renders and stages."""

    run_id: str
    period: TimeRange
    run_dir: Path
    #: The model's config as written (environment references such as ${oc.env:TOKEN} unresolved):
    #: what rendered files may show, so that a secret never lands in one.
    written: dict[str, Any] = field(default_factory=dict)

    @property
    def staging_dir(self) -> Path:  # upstream rompy's name for the run directory
        return self.run_dir

    def template_context(self) -> dict[str, Any]:
        """`runtime` in a template: the run id, the period, the run directory, and upstream rompy's keys."""
        import getpass
        import platform

        return {"run_id": self.run_id, "period": self.period, "staging_dir": self.run_dir, "run_dir": self.run_dir,
                "output_dir": self.run_dir.parent, "_datefmt": "%Y%m%d.%H%M%S",
                "_generated_at": str(datetime.now(timezone.utc)), "_generated_on": platform.node(),
                "_generated_by": getpass.getuser()}


@dataclass
class RenderedFile:
    """A file a model renders, when it must be executable (a run script)."""

    content: str | bytes
    executable: bool = False


class ModelConfig(PluggableConfig):
    """What a model must do to be run by rompy: render its input files, stage what else it needs,
    and name the command that runs it in the run directory. docs/plugins.md has the contract."""

    kind: ClassVar[str] = "model"

    @classmethod
    def contract_problem(cls) -> str | None:
        if cls.render is ModelConfig.render and cls.render_input is ModelConfig.render_input:
            return ("implements neither render(runtime) nor render_input(context); a model implements "
                    "one of them to write its input files (docs/plugins.md)")
        return None

    def render(self, runtime: Runtime) -> dict[str, str | bytes | RenderedFile]:
        """The files to write into the run directory: {relative path: content}. Also called by a
        dry run, which writes nothing: render in memory, raise ConfigError for bad input.

        The default writes INPUT from `render_input`, for models with one input file.
        """
        context = {"run_id": runtime.run_id, "period": runtime.period.model_dump(mode="json")}
        return {"INPUT": self.render_input(context)}

    def render_input(self, context: dict[str, Any]) -> str:
        """Text of the run's INPUT file (used by the default `render`). `context` holds run_id and the period."""
        raise NotImplementedError(f"{type(self).__name__} implements neither render() nor render_input()")

    def stage(self, run_dir: Path) -> list[dict[str, Any]] | None:
        """Copy or link into the run directory what the model needs besides its rendered files.

        Returns what was staged ({src, dest, sha256, ...} each) for the run record, or None.
        """

    def model_command(self) -> str | list[str]:
        """The command that runs the model, from inside the run directory: a string (shell) or a list."""
        legacy = getattr(type(self), "command", None)  # classes written when this was called command()
        if callable(legacy):
            return legacy(self)
        raise NotImplementedError(f"{type(self).__name__} does not say how to run it: implement model_command()")


#: How long a period given by its start alone lasts.
DEFAULT_DURATION = "3d"


def default_period() -> TimeRange:
    """The period a run simulates when none is given (upstream rompy's default)."""
    return TimeRange(start=datetime(2020, 2, 21, 4), end=datetime(2020, 2, 24, 4), interval="15min")


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
    period: TimeRange = Field(default_factory=default_period,
                              description="The simulation period: two of start, end and duration, and the interval.")
    backend: SerializeAsAny[BackendConfig]
    postprocessor: SerializeAsAny[PostprocessorConfig]
    model: SerializeAsAny[ModelConfig]
    sweep: SweepConfig = Field(default_factory=SweepConfig, description="How a multirun (-m) treats its members; ignored by a single run.")

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value):
        return None if value is None else check_run_id(value)

    @field_validator("period", mode="before")
    @classmethod
    def _start_alone(cls, value):
        """A period given by its start alone lasts DEFAULT_DURATION."""
        if isinstance(value, dict) and value.get("start") is not None and value.get("end") is None \
                and value.get("duration") is None:
            return {**value, "duration": DEFAULT_DURATION}
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value):
        return value.upper() if isinstance(value, str) else value

    @field_validator("output_dir")
    @classmethod
    def _output_dir(cls, value):
        if not value.strip():
            raise ValueError("output_dir must not be empty")
        return os.path.expanduser(value)  # `output_dir: ~/scratch/runs` is the home folder's, not ./~
