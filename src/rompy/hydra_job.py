"""Run a task the way Hydra's `run_job` does, without what rompy does not need.

`run_job` sets the Hydra config twice, deep-copies the whole config twice and sets
up per-job logging. A plain run (rompy.single_run) and every sweep member
(rompy.sweep.member) need only this, for the task's duration: `HydraConfig.get()`
and `${hydra:...}` answer from the job's hydra node, and `hydra.job.env_set` is
in the environment.
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def hydra_job(hydra_cfg):
    """Within: HydraConfig answers from `hydra_cfg` ({hydra: ...}) and its job.env_set is applied."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import env_override

    instance = HydraConfig.instance()
    previous = instance.cfg
    instance.cfg = hydra_cfg
    try:
        with env_override(dict(hydra_cfg.hydra.job.env_set or {})):
            yield
    finally:
        instance.cfg = previous
