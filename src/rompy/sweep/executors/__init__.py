"""Where a sweep's members run. Each executor takes the members to run and the sweep's context.

sequential: one after another in this process. parallel: side by side in forked worker
processes, as many as the cores allow. slurm: as tasks of SLURM job arrays. hydra: any
other Hydra launcher (basic, joblib, submitit_*), a batch at a time.
"""

from __future__ import annotations

from typing import Protocol


class Executor(Protocol):
    """What rompy.sweep.runner asks of an executor."""

    #: The launcher's name in results lines and the summary.
    name: str

    def execute(self, members: list, ctx) -> None:
        """Run `members` (sweep.plan.MemberJob); report each through ctx.started / ctx.finished;
        stop starting new ones once ctx.stopping."""

    def preflight(self) -> None:
        """Raise a RompyError before the sweep directory exists if this executor cannot run (optional)."""
