"""The backend contract: a validated config that can pre-flight and execute a Job.

A backend knows nothing of Hydra or of the run record: it gets a `Job` (what to
run, where, where logs go) and returns a `BackendResult`. Custom backends subclass
`BackendConfig`, set a unique `type` and implement `execute`.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from rompy.base import PluggableConfig
from rompy.results import BackendResult
from rompy.rules import check_env_name

# Variables rompy itself sets for its own process; they never reach a model.
INTERNAL_ENV = ("HYDRA_FULL_ERROR",)


@dataclass
class Job:
    """One execution of a model command, as a backend sees it."""

    run_id: str
    run_dir: Path
    command: str | list[str]
    logs_dir: Path
    token: str = ""  # marks every process of this run (see rompy.active_runs)
    notes: dict[str, Any] = field(default_factory=dict)

    def log_path(self, stream: str) -> Path:
        return self.logs_dir / f"{stream}.log"

    def note(self, **facts: Any) -> None:
        """Facts about the running job (e.g. `slurm_job_id`) that must outlive a killed rompy.

        They go to the run's active-run entry at once, so the next rompy start can stop what
        this run started elsewhere, and into the record if the run is interrupted.
        """
        self.notes.update(facts)
        if self.token:
            from rompy import active_runs

            active_runs.note(self.token, **facts)


class BackendConfig(PluggableConfig):
    """Fields every backend shares. See docs/backend_configurations.md."""

    kind: ClassVar[str] = "backend"
    is_kind_base: ClassVar[bool] = True

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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.is_kind_base = False

    @field_validator("command", "executable", "mpiexec", mode="before")
    @classmethod
    def _command_is_text(cls, value, info):
        """`backend.command=true` reaches us as a boolean (YAML reads `true`, `3`, `1.5` as values)."""
        if isinstance(value, (bool, int, float)):
            text = str(value).lower() if isinstance(value, bool) else str(value)
            kind = "a boolean" if isinstance(value, bool) else "a number"
            raise ValueError(f"a command is text, not {kind}; quote it: backend.{info.field_name}='{text}'")
        return value

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
