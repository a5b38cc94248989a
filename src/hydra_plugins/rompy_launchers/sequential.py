"""`hydra/launcher=sequential` (rompy's default): members one by one in this process."""

from __future__ import annotations

from rompy.sweep.hydra_launcher import RompyLauncher


class RompySequentialLauncher(RompyLauncher):
    def executor(self):
        from rompy.sweep.inprocess import InProcessExecutor

        return InProcessExecutor()
