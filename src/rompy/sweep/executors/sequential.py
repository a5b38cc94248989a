"""Sequential executor: members one after another in the sweep's own process.

No process to start and no second composition per member: the cheapest way to run
members whose model is quick.
"""

from __future__ import annotations

from rompy.errors import Interrupted
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
            try:
                ctx.finished(job, result)
            except Interrupted:
                # The signal landed as recording began: the member ended all the same and
                # its line belongs in the results (a later signal does not raise again).
                if job.number not in ctx.ended:
                    ctx.finished(job, result)
                raise
