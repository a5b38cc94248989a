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
        if cores is not None and float(cores) <= 0:
            raise ValueError("hydra.launcher.cores must be positive (or null: the cores this process may use)")
        if max_workers is not None and int(max_workers) < 1:
            raise ValueError("hydra.launcher.max_workers must be at least 1 (or null: 4 per core)")
        self.cores = cores
        self.max_workers = max_workers
        self.poll_s = poll_s

    def executor(self):
        from rompy.sweep.executors.parallel import ForkExecutor

        return ForkExecutor(cores=self.cores, max_workers=self.max_workers, poll_s=self.poll_s)
