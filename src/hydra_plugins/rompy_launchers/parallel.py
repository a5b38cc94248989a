"""`hydra/launcher=parallel`: members side by side in worker processes, sized by cores.

See rompy.sweep.executors.parallel.
"""

from __future__ import annotations

from typing import Any

from rompy.sweep.launcher import RompyLauncher


class RompyParallelLauncher(RompyLauncher):
    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.params = params  # ParallelSettings owns the keys and their defaults

    def executor(self):
        from rompy.sweep.executors.parallel import ForkExecutor, ParallelSettings

        return ForkExecutor(**self.settings(ParallelSettings, self.params).model_dump())
