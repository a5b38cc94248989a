"""Composing rompy's config with Hydra, and running a plain run from it with a single composition.

`@hydra.main` composes the config twice for a plain run: once to read `hydra.mode`, once
to run. For a plain single run (no -m, --help, --cfg, --info, completion or callbacks)
rompy composes once and runs the task the way `run_job` would; anything else goes to
`@hydra.main`.
"""

from __future__ import annotations

import os
from typing import Callable

_COMMAND_ID: list[str] = []


def command_id() -> str:
    """`<UTC time>-<6 hex>`, the same wherever it is asked for during one rompy command.

    The default sweep directory is named by it (`${rompy.command_id:}` in conf/rompy.yaml),
    so two sweeps started in the same second never share a directory or member run ids.
    """
    if not _COMMAND_ID:
        from rompy.config import new_run_id

        _COMMAND_ID.append(new_run_id())
    return _COMMAND_ID[0]


def new_command() -> None:
    """A new command starts (run_cli may run several in one process): a new command id."""
    _COMMAND_ID.clear()
    register_resolvers()


def register_resolvers() -> None:
    """rompy's OmegaConf resolvers; needed wherever rompy's config is resolved (also on a SLURM node)."""
    from rompy._hydra import register_resolver

    register_resolver("rompy.command_id", command_id, use_cache=True)


def try_single_run(argv: list[str], conf_dir: str, config_name: str, task: Callable) -> bool:
    """Run `task` for a plain single run and return True; False when Hydra must decide."""
    from rompy._hydra import parse_command_line

    args, unknown = parse_command_line(argv)
    if unknown or args.multirun or args.help or args.hydra_help or args.cfg or args.info or args.resolve \
            or args.shell_completion or args.config_path is not None or args.experimental_rerun:
        return False

    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    from rompy._hydra import run_job_with_callbacks

    try:
        app, cfg = _compose(args, conf_dir, config_name)
        if cfg.hydra.mode == RunMode.MULTIRUN or cfg.hydra.callbacks:
            return False
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.RUN
        if cfg.hydra.output_subdir is None and not cfg.hydra.job.chdir:
            _run_job_in_place(cfg, task)
        else:
            run_job_with_callbacks(app, cfg, task)
        return True
    finally:
        GlobalHydra.instance().clear()


def _compose(args, conf_dir: str, config_name: str):
    """(Hydra app, composed config) for parsed CLI arguments, composed once as `Hydra.run` would
    (as `Hydra.multirun` would with -m: the swept values are left to the members)."""
    from hydra.types import RunMode

    from rompy._hydra import create_app

    app = create_app(conf_dir, args.config_dir)
    cfg = app.compose_config(config_name=args.config_name or config_name, overrides=list(args.overrides),
                             with_log_configuration=False, run_mode=RunMode.MULTIRUN if args.multirun else RunMode.RUN)
    return app, cfg


def compose_or_none(argv: list[str], conf_dir: str, config_name: str):
    """The config `argv` composes to, or None if it does not compose (for error hints only)."""
    from hydra.core.global_hydra import GlobalHydra

    from rompy._hydra import parse_command_line

    try:
        args, _ = parse_command_line(argv)
        return _compose(args, conf_dir, config_name)[1]
    except Exception:  # noqa: BLE001 - a hint is best effort
        return None
    finally:
        GlobalHydra.instance().clear()


def _run_job_in_place(cfg, task: Callable) -> None:
    """`run_job` for a job that neither changes directory nor saves Hydra's files.

    The task gets the composed config itself (one copy of the hydra node where `run_job`
    makes four); `hydra.runtime.output_dir` is set and `hydra.run.dir` exists, as
    `run_job` would leave them; the config passed in has no `hydra` node.
    """
    from omegaconf import OmegaConf, open_dict, read_write

    from rompy._hydra import hydra_job

    job_dir = str(OmegaConf.select(cfg, "hydra.run.dir"))
    with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
        cfg.hydra.runtime.output_dir = os.path.abspath(job_dir)
    hydra_cfg = OmegaConf.masked_copy(cfg, "hydra")  # what HydraConfig.set_config keeps
    OmegaConf.set_readonly(hydra_cfg.hydra, True)
    os.makedirs(job_dir, exist_ok=True)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    hydra_cfg.hydra._set_parent(cfg)  # ${output_dir} and the like in hydra.* resolve against the job
    with hydra_job(hydra_cfg):
        task(cfg)
