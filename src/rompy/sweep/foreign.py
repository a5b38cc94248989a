"""Executor for launchers that are not rompy's (basic, joblib, submitit_*).

They take a batch of override lists and return when the whole batch is done, so
results.jsonl is written after the batch, not as each member finishes, and
fail_fast cannot stop a batch half-way. They also compose each member themselves
and stop the sweep at a member's SystemExit (DESIGN §4). rompy's launchers
(sequential, parallel, slurm) have none of these limits; this path exists so that
other launchers still get run ids, results, summary and resume.
"""

from __future__ import annotations

from rompy.sweep.member import result_from_task_return
from rompy.sweep.records import MemberResult


class HydraLauncherExecutor:
    def __init__(self, launcher):
        self.launcher = launcher
        self.name = type(launcher).__name__

    def execute(self, jobs, ctx) -> None:
        from hydra.core.utils import JobStatus

        if not jobs:
            return
        for job in jobs:
            ctx.started(job)
        returns = self.launcher.launch([job.launch_overrides for job in jobs], initial_job_idx=jobs[0].number)
        for job, ret in zip(jobs, returns):
            if ret.status == JobStatus.COMPLETED:
                result = result_from_task_return(ret._return_value)
                record = getattr(ret._return_value.get("outcome"), "record", None) if isinstance(
                    ret._return_value, dict) else None
                if record:
                    result.started_at = record.get("started_at")
                    result.finished_at = record.get("finished_at")
                    result.duration_s = record.get("duration_s")
            else:
                exc = ret._return_value
                result = MemberResult("failed", 1, f"{type(exc).__name__}: {exc}")
            ctx.finished(job, result)
