"""LocalConfig: run the model as a process group on this machine."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from rompy.backends.base import BackendConfig, BackendResult, Job, Stopwatch, existing_working_dir


class LocalConfig(BackendConfig):
    """Run the command locally, in its own process group, with a deadline."""

    type: Literal["local"] = "local"
    cpu: int = Field(
        1, ge=1,
        description="Cores the model may use: exported as OMP_NUM_THREADS unless set in env_vars; "
        "sizes parallel sweeps.",
    )
    shell: bool = Field(True, description="Run a string command through /bin/sh -c (else split it like a shell).")
    capture_output: bool = Field(True, description="Save stdout and stderr under the run's logs/ as well as showing them.")
    working_dir: str | None = Field(
        None, description="Existing directory to run in instead of the run directory."
    )

    _working_dir_exists = field_validator("working_dir")(existing_working_dir)

    def argv(self, command: str | list[str]) -> list[str]:
        if isinstance(command, list):
            return [str(part) for part in command]
        if self.shell:
            return ["/bin/sh", "-c", command]
        return shlex.split(command)

    def execute(self, job: Job) -> BackendResult:
        from rompy.runtime.processes import run_process_group

        clock = Stopwatch()
        env = self.base_environment()
        if "OMP_NUM_THREADS" not in self.env_vars:
            env["OMP_NUM_THREADS"] = str(self.cpu)
        cwd = Path(self.working_dir).expanduser() if self.working_dir else job.run_dir
        status, exit_code, message = run_process_group(
            self.argv(job.command), cwd=cwd, env=env, timeout=self.timeout,
            logs_dir=job.logs_dir if self.capture_output else None, token=job.token or None,
        )
        logs = {stream: str(job.log_path(stream)) for stream in ("stdout", "stderr")} if self.capture_output else {}
        return clock.result(status, exit_code, message, logs=logs)
