"""`hydra/launcher=sequential` (rompy's default): members one by one in this process."""

from __future__ import annotations

from typing import Any

from rompy.sweep.launcher import RompyLauncher


class RompySequentialLauncher(RompyLauncher):
    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.params = params  # it has none: a key in a user's YAML is reported when the sweep starts

    def executor(self):
        from rompy.sweep.executors.sequential import InProcessExecutor, SequentialSettings

        self.settings(SequentialSettings, self.params)
        return InProcessExecutor()
