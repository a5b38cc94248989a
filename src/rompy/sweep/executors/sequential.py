"""Sequential executor: members one after another in the sweep's own process.

No process to start per member: the cheapest way to run members whose model is quick.
Only the whole-sweep check of a large sweep is shared with forked children, one per
further core, which check and end.
"""

from __future__ import annotations

from typing import Iterator

from pydantic import BaseModel, ConfigDict

from rompy.sweep.member import run_member


class SequentialSettings(BaseModel):
    """`hydra/launcher=sequential` has no keys of its own."""

    model_config = ConfigDict(extra="forbid")


class InProcessExecutor:
    name = "sequential"

    def check_all(self, jobs, ctx, check_one) -> Iterator | None:
        """A large sweep's whole-sweep check, split between this process and a forked child per further core."""
        from rompy.sweep.executors.forked import check_in_children

        return check_in_children(jobs, ctx, check_one)

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
