"""Sequential executor: members one after another in the sweep's own process.

No process to start and no second composition per member: the cheapest way to run
members whose model is quick.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from rompy.sweep.member import run_member


class SequentialSettings(BaseModel):
    """`hydra/launcher=sequential` has no keys of its own."""

    model_config = ConfigDict(extra="forbid")


class InProcessExecutor:
    name = "sequential"

    def execute(self, jobs, ctx) -> None:
        for job in jobs:
            if ctx.stopping:
                return
            member = ctx.prepare(job)
            if member is None:
                continue
            ctx.started(job)
            # Recorded before a signal that lands as the member ends takes effect.
            run_member(ctx.task_function, member, ctx.callbacks, job.run_dir,
                       report=lambda result, job=job: ctx.finished(job, result))
