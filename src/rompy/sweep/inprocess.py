"""Sequential executor: members one after another in the sweep's own process.

No process start and no second composition per member, which is what brings a
sweep of trivial members to a few hundredths of a second each (benchmarks/).
"""

from __future__ import annotations

from rompy.sweep.member import run_member


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
            result = run_member(ctx.task_function, member, ctx.callbacks, job.run_dir)
            ctx.finished(job, result)
