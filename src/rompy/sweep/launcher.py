"""Base class of rompy's Hydra launchers (sequential, parallel, slurm).

rompy's sweeper hands these launchers whole member lists through `executor()`;
Hydra's own sweepers call `launch()` with batches of overrides, which runs the
batch through the same sweep loop (results, summary, exit code), so the launchers
also work under `hydra/sweeper=basic`.
"""

from __future__ import annotations

from typing import Sequence

from hydra.plugins.launcher import Launcher


class RompyLauncher(Launcher):
    def __init__(self) -> None:
        super().__init__()
        self.config = None
        self.hydra_context = None
        self.task_function = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def executor(self):  # pragma: no cover - every launcher overrides it
        raise NotImplementedError

    def settings(self, model, params: dict):
        """The launcher's keys validated by `model`; ConfigError naming `hydra.launcher.<key>`,
        the bad value and the override that set it."""
        from pydantic import ValidationError

        try:
            return model.model_validate(params)
        except ValidationError as exc:
            from omegaconf import OmegaConf

            from rompy.cli.diagnostics import Sources, format_validation_error
            from rompy.errors import ConfigError

            overrides = list(OmegaConf.select(self.config, "hydra.overrides.hydra", default=None) or [])
            raise ConfigError(format_validation_error(exc, params, Sources(overrides=overrides),
                                                      prefix=("hydra", "launcher"))) from None

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int):
        from hydra.core.utils import JobReturn, JobStatus

        from rompy.sweep.runner import run_sweep

        summary = run_sweep(
            hydra_context=self.hydra_context, task_function=self.task_function, master=self.config,
            member_overrides=[list(o) for o in job_overrides], executor=self.executor(),
            first_number=initial_job_idx,
        )
        from rompy.sweep.records import read_summary

        written = read_summary(summary["sweep_dir"]) if summary else None
        returns = []
        for member in (written or {}).get("members", []):
            ret = JobReturn(overrides=member["overrides"], status=JobStatus.COMPLETED)
            ret.return_value = member
            returns.append(ret)
        return returns
