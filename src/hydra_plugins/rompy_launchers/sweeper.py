"""`hydra/sweeper=rompy` (rompy's default): compose each member once, record every member.

Hydra's basic sweeper composes all members to validate the batch and its launcher
composes them again, reports only the first failure and dies on a member's
SystemExit. This sweeper expands the same override grammar and hands
the members to `rompy.sweep.runner`, which composes each member once and runs it
with the selected launcher: rompy's own launchers directly, any other Hydra
launcher through its `launch()`.
"""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper


class RompySweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = settings  # rompy.sweep.plan.SweeperSettings owns the keys, checked in sweep()
        self.hydra_context = None
        self.config = None
        self.launcher = None
        self.task_function = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.task_function = task_function
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from rompy import sweep
        from rompy.errors import RompyError
        from rompy.sweep.executors.hydra import HydraLauncherExecutor
        from rompy.sweep.launcher import RompyLauncher, plugin_settings
        from rompy.sweep.plan import SweeperSettings, member_overrides
        from rompy.sweep.runner import run_sweep

        try:
            params = plugin_settings(SweeperSettings, self.settings, self.config, "sweeper").params
            members = member_overrides(self.hydra_context.config_loader, params, list(arguments))
            if isinstance(self.launcher, RompyLauncher):
                executor = self.launcher.executor()
            else:
                choice = self.config.hydra.runtime.choices.get("hydra/launcher")
                executor = HydraLauncherExecutor(self.launcher, choice)
            return run_sweep(hydra_context=self.hydra_context, task_function=self.task_function,
                             master=self.config, member_overrides=members, executor=executor)
        except RompyError as exc:
            import sys

            sys.stderr.write(f"rompy: error: {exc}\n")
            sweep.set_exit_code(exc.exit_code)
            return None
