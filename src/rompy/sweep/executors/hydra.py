"""Executor for Hydra launchers that are not rompy's (basic, joblib, submitit_*).

They take a batch of override lists and return when the whole batch is done, so
results.jsonl is written after the batch, and fail_fast cannot stop a batch half-way.
The batch's results are written down in one held block: a Ctrl-C or SIGTERM arriving
while they are takes effect once every member the launcher ran is recorded.
This path exists so that other launchers still get run ids, results, summary and resume.
"""

from __future__ import annotations

from rompy._hydra import job_return_value
from rompy.sweep.member import result_from_task_return
from rompy.sweep.records import MemberResult


#: What other launchers import only when they launch, so that a missing extra is found before the sweep starts.
LAUNCHER_NEEDS = {"hydra_plugins.hydra_submitit_launcher": "submitit"}


class HydraLauncherExecutor:
    def __init__(self, launcher, choice: str | None = None):
        self.launcher = launcher
        self.name = type(launcher).__name__
        self.choice = choice or self.name  # as selected: hydra/launcher=<choice>

    def preflight(self) -> None:
        """MissingExtra now, not after the sweep directory exists, if the launcher's packages are absent."""
        import importlib

        from rompy.errors import MissingExtra

        module = type(self.launcher).__module__
        for prefix, needed in LAUNCHER_NEEDS.items():
            if module.startswith(prefix):
                try:
                    importlib.import_module(needed)
                except ImportError as exc:
                    raise (MissingExtra.of(exc, f"hydra/launcher={self.choice}") or exc) from None

    def execute(self, jobs, ctx) -> None:
        from rompy.runtime.signals import held

        if not jobs:
            return
        for job in jobs:
            ctx.started(job)
        returns = self.launcher.launch([job.launch_overrides for job in jobs], initial_job_idx=jobs[0].number)
        with held():
            for job, ret in zip(jobs, returns):
                ctx.finished(job, _member_result(ret))


def _member_result(ret) -> MemberResult:
    """What a launcher's JobReturn says of its member, with the run's own times when it has a record."""
    from hydra.core.utils import JobStatus

    value = job_return_value(ret)
    if ret.status != JobStatus.COMPLETED:
        return MemberResult("failed", 1, f"{type(value).__name__}: {value}")
    result = result_from_task_return(value)
    record = getattr(value.get("outcome"), "record", None) if isinstance(value, dict) else None
    if record:
        result.started_at = record.get("started_at")
        result.finished_at = record.get("finished_at")
        result.duration_s = record.get("duration_s")
    return result
