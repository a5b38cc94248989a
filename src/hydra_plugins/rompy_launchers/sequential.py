"""`hydra/launcher=sequential` (rompy's default): members one by one in this process."""

from __future__ import annotations

from rompy.sweep.launcher import RompyLauncher


class RompySequentialLauncher(RompyLauncher):
    def executor(self):
        from rompy.sweep.executors.sequential import InProcessExecutor

        return InProcessExecutor()
