"""Base class of rompy's Hydra launchers (sequential, parallel, slurm).

rompy's sweeper hands these launchers whole member lists through `executor()`;
Hydra's own sweepers call `launch()` with batches of overrides, which runs the
batch through the same sweep loop (results, summary, exit code), so the launchers
also work under `hydra/sweeper=basic`.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from hydra.plugins.launcher import Launcher


class RompyLauncher(Launcher):
    def __init__(self) -> None:
        super().__init__()
        self.config = None
        self.hydra_context = None
        self.task_function = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def executor(self):  # pragma: no cover - every launcher overrides it
        raise NotImplementedError

    def settings(self, model, params: dict, extra_keys: Iterable[str] | None = None):
        """The launcher's keys validated by `model` (see plugin_settings)."""
        return plugin_settings(model, params, self.config, "launcher", extra_keys)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int):
        from hydra.core.utils import JobReturn, JobStatus

        from rompy.sweep.runner import run_sweep

        summary = run_sweep(
            hydra_context=self.hydra_context, task_function=self.task_function, master=self.config,
            member_overrides=[list(o) for o in job_overrides], executor=self.executor(),
            first_number=initial_job_idx,
        )
        from rompy.sweep.records import read_summary

        written = read_summary(summary["sweep_dir"]) if summary else None
        returns = []
        for member in (written or {}).get("members", []):
            ret = JobReturn(overrides=member["overrides"], status=JobStatus.COMPLETED)
            ret.return_value = member
            returns.append(ret)
        return returns


def plugin_settings(model, params: dict, config, node: str, extra_keys: Iterable[str] | None = None):
    """`hydra.<node>`'s keys (a launcher's or the sweeper's) validated by `model`.

    ConfigError naming `hydra.<node>.<key>`, the bad value or the valid keys, and where
    it was set: the override, or the user's YAML of the selected option. `extra_keys`: the
    keys beyond its fields that a model allowing extra keys takes (submitit's sbatch
    parameters); any other is unknown. Called when the sweep starts, not in the
    plugin's constructor: Hydra wraps a constructor's errors in its own instantiation message.
    """
    from omegaconf import OmegaConf
    from pydantic import ValidationError

    from rompy.errors import ConfigError

    params = {key: OmegaConf.to_container(value, resolve=False) if OmegaConf.is_config(value) else value
              for key, value in params.items()}
    try:
        settings = model.model_validate(params)
    except ValidationError as exc:
        from rompy.cli.diagnostics import format_validation_error

        raise ConfigError(format_validation_error(exc, params, _sources(config), prefix=("hydra", node),
                                                  model=model)) from None
    if extra_keys is not None:
        known = set(model.model_fields) | set(extra_keys)
        unknown = [key for key in settings.model_extra or {} if key not in known]
        if unknown:
            from rompy.cli.diagnostics import suggestion

            path = f"hydra.{node}.{unknown[0]}"
            raise ConfigError(f"{path}: unknown key{suggestion(unknown[0], sorted(known))} "
                              f"({_sources(config).origin(path)})")
    return settings


def _sources(config):
    """Where `hydra.*` values came from: the Hydra overrides, the selected options, the config folders."""
    from omegaconf import OmegaConf

    from rompy.cli.diagnostics import Sources

    return Sources.of(config.hydra, OmegaConf.select(config, "hydra.overrides.hydra", default=None) or [])
