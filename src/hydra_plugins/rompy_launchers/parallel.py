"""`hydra/launcher=parallel`: members side by side in worker processes, sized by cores.

See rompy.sweep.executors.parallel.
"""

from __future__ import annotations

from typing import Optional

from rompy.sweep.launcher import RompyLauncher


class RompyParallelLauncher(RompyLauncher):
    def __init__(self, cores: Optional[float] = None, max_workers: Optional[int] = None,
                 poll_s: float = 0.25) -> None:
        super().__init__()
        self.params = {"cores": cores, "max_workers": max_workers, "poll_s": poll_s}

    def executor(self):
        from rompy.sweep.executors.parallel import ForkExecutor, ParallelSettings

        return ForkExecutor(**self.settings(ParallelSettings, self.params).model_dump())
