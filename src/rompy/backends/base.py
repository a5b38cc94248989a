"""The backend contract: a validated config that can pre-flight and execute a Job.

A backend knows nothing of Hydra or of the run record: it gets a `Job` (what to run,
where, where logs go) and returns a `BackendResult`. Custom backends subclass
`BackendConfig`, set a unique `type` and implement `execute`.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rompy._pluggable import PluggableConfig, command_is_text
from rompy.core.time import utcnow

# Variables rompy itself sets for its own process; they never reach a model.
INTERNAL_ENV = ("HYDRA_FULL_ERROR",)

Status = Literal["running", "succeeded", "failed", "timed_out", "interrupted"]


class BackendResult(BaseModel):
    """What a backend reports after running the model command."""

    model_config = ConfigDict(defer_build=True)

    status: Status
    exit_code: int | None = None
    started_at: datetime
    finished_at: datetime
    duration_s: float
    message: str = ""
    logs: dict[str, str] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass
class Stopwatch:
    """Started when a backend starts; `result(...)` stamps the BackendResult with its times."""

    started_at: datetime = field(default_factory=utcnow)
    t0: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def result(self, status: Status, exit_code: int | None = None, message: str = "", **fields: Any) -> BackendResult:
        return BackendResult(status=status, exit_code=exit_code, message=message, started_at=self.started_at,
                             finished_at=utcnow(), duration_s=self.elapsed(), **fields)


@dataclass
class Job:
    """One execution of a model command, as a backend sees it."""

    run_id: str
    run_dir: Path
    command: str | list[str]
    logs_dir: Path
    token: str = ""  # marks every process of this run (rompy.runtime.processes)
    notes: dict[str, Any] = field(default_factory=dict)
    on_note: Callable[[dict[str, Any]], None] | None = None

    def log_path(self, stream: str) -> Path:
        return self.logs_dir / f"{stream}.log"

    def note(self, **facts: Any) -> None:
        """Facts about the running job (e.g. `slurm_job_id`) that must outlive a killed rompy.

        The run passes them on at once (to its active-run entry, so that the next rompy start
        can stop what this run started elsewhere), and keeps them for the record.
        """
        self.notes.update(facts)
        if self.on_note is not None:
            self.on_note(facts)


@dataclass(frozen=True)
class Resources:
    """What one run takes, for a sweep to schedule it: cores, memory and time where it runs,
    and the cores it holds on this machine while it runs (none for a remote engine or a cluster)."""

    cpus: float = 1.0
    memory_bytes: int | None = None
    timeout_s: int = 3600
    local_cpus: float = 1.0


_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env_name(name: str) -> str:
    if not _ENV_NAME_RE.match(name):
        raise ValueError(
            f"{name!r} is not a valid environment variable name "
            "(letters, digits and '_', not starting with a digit)"
        )
    return name


def existing_working_dir(value: str | None) -> str | None:
    """A working_dir on this machine (or a SLURM node sharing its filesystem) must already exist."""
    from rompy._pluggable import is_existing_dir

    if value is not None and not is_existing_dir(value):
        raise ValueError("not an existing directory")
    return value


class BackendConfig(PluggableConfig):
    """Fields every backend shares. See docs/backend_configurations.md."""

    kind: ClassVar[str] = "backend"
    #: `package.module:function` that cleans up after a run of this backend whose rompy was killed;
    #: rompy.runtime.active_runs calls it with the run's notes and knows no backend by name.
    reaper: ClassVar[str | None] = None

    timeout: int = Field(
        3600, ge=60, le=86400,
        description="Seconds the model may run before it is stopped (60..86400).",
    )
    command: str | list[str] | None = Field(
        None,
        description="Command to run instead of the model's own; a string (shell) or a list of arguments.",
    )
    env_vars: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment variables for the model; values are strings.",
    )
    secret_env: list[str] = Field(
        default_factory=list,
        description="Names of variables passed from rompy's environment to the model as secrets; "
        "their values are never written anywhere.",
    )
    executable: str | None = Field(
        None, description="Program to run instead of the model's own command (used with mpiexec)."
    )
    mpiexec: str | None = Field(
        None, description="MPI launcher, e.g. 'mpiexec'; runs '<mpiexec> -n <cpu> <command>' (cpu must be whole).",
    )

    @field_validator("command", "executable", "mpiexec", mode="before")
    @classmethod
    def _command_is_text(cls, value, info):
        return command_is_text(value, f"backend.{info.field_name}")

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value):
        if isinstance(value, str) and not value.strip():
            raise ValueError("command must not be empty; leave it unset to run the model's own command")
        if isinstance(value, list) and not value:
            raise ValueError("command list must not be empty")
        return value

    @field_validator("env_vars", mode="before")
    @classmethod
    def _env_values_to_text(cls, value: Any):
        if not isinstance(value, dict):
            return value
        converted = {}
        for name, item in value.items():
            check_env_name(str(name))
            if item is None or isinstance(item, (dict, list)):
                raise ValueError(f"env_vars.{name} must be a string, number or boolean")
            converted[str(name)] = item if isinstance(item, str) else str(item)
        return converted

    @field_validator("secret_env")
    @classmethod
    def _secret_names(cls, value):
        return [check_env_name(name) for name in value]

    @model_validator(mode="after")
    def _mpi_needs_whole_cpus(self):
        cpu = getattr(self, "cpu", 1)
        if self.mpiexec is not None and float(cpu) != int(cpu):
            raise ValueError(f"cpu must be a whole number of MPI ranks when mpiexec is set, got {cpu}")
        return self

    def resolve_command(self, model_command: str | list[str]) -> str | list[str]:
        """The command to run: `command`, else `executable`, else the model's; MPI-wrapped if asked."""
        command = self.command if self.command is not None else (self.executable or model_command)
        if not self.mpiexec:
            return command
        launcher = shlex.split(self.mpiexec)
        if not any(arg in ("-n", "-np") or arg.startswith(("-n=", "-np=")) for arg in launcher[1:]):
            launcher += ["-n", str(int(getattr(self, "cpu", 1)))]
        return launcher + (shlex.split(command) if isinstance(command, str) else list(command))

    def resources(self) -> Resources:
        """Cores, memory and time a run of this config takes (a sweep schedules members by it)."""
        cpus = float(getattr(self, "cpu", 1) or 1)
        return Resources(cpus=cpus, timeout_s=self.timeout, local_cpus=cpus)

    def preflight(self) -> None:
        """Check that the backend can start, before anything is created. Raise PreflightError."""
        self.check_secret_env()

    def check_secret_env(self) -> None:
        """Every name in secret_env must be set in rompy's environment."""
        missing = [name for name in self.secret_env if name not in os.environ]
        if missing:
            from rompy.errors import PreflightError

            raise PreflightError(
                f"backend.secret_env: {', '.join(missing)} not set in rompy's environment; "
                "export it before running rompy"
            )

    def secret_environment(self) -> dict[str, str]:
        """Values of the secret_env names, for backends that do not inherit rompy's environment."""
        return {name: os.environ[name] for name in self.secret_env if name in os.environ}

    def execute(self, job: Job) -> BackendResult:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement execute()")

    def base_environment(self) -> dict[str, str]:
        """The caller's environment without rompy's internal variables, plus env_vars."""
        env = {k: v for k, v in os.environ.items() if k not in INTERNAL_ENV}
        env.update(self.env_vars)
        return env
