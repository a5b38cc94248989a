"""Run one Hydra job with a single composition.

`@hydra.main` composes the config twice for a plain run: once to read
`hydra.mode`, once to run. Composition is most of a dry run's cost, so for a
plain single run (no -m, --help, --cfg, --info, completion or callbacks) rompy
composes once with Hydra's own API and runs the job through Hydra's `run_job`,
exactly as `Hydra.run` does. Anything else returns None and the caller falls
back to `@hydra.main`.
"""

from __future__ import annotations

import os
from typing import Callable


def try_single_run(argv: list[str], conf_dir: str, config_name: str, task: Callable) -> bool:
    """Run `task` for a plain single run and return True; False when Hydra must decide."""
    from hydra._internal.utils import get_args_parser

    args, unknown = get_args_parser().parse_known_args(argv)
    if unknown or args.multirun or args.help or args.hydra_help or args.cfg or args.info or args.resolve \
            or args.shell_completion or args.config_path is not None or args.experimental_rerun:
        return False

    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import run_job
    from hydra.types import HydraContext, RunMode
    from omegaconf import open_dict, read_write

    try:
        app, cfg = _compose(args, conf_dir, config_name)
        if cfg.hydra.mode == RunMode.MULTIRUN or cfg.hydra.callbacks:
            return False
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.RUN
        if cfg.hydra.output_subdir is None and not cfg.hydra.job.chdir:
            _run_job_in_place(cfg, task)
            return True
        from hydra._internal.callbacks import Callbacks

        ret = run_job(hydra_context=HydraContext(config_loader=app.config_loader, callbacks=Callbacks(cfg)),
                task_function=task, config=cfg, job_dir_key="hydra.run.dir", job_subdir_key=None,
                configure_logging=False)
        _ = ret.return_value  # re-raises what the task raised, as Hydra.run does
        return True
    finally:
        GlobalHydra.instance().clear()


def _compose(args, conf_dir: str, config_name: str):
    """(Hydra app, composed config) for parsed CLI arguments, composed once as `Hydra.run` would."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import SearchPathException
    from hydra.types import RunMode

    search_path = create_config_search_path(f"file://{conf_dir}")
    if args.config_dir is not None:
        from hydra.core.config_search_path import SearchPathQuery

        abs_dir = os.path.abspath(args.config_dir)
        if not os.path.isdir(abs_dir):
            raise SearchPathException(f"Additional config directory '{abs_dir}' not found")
        search_path.prepend(provider="command-line", path=f"file://{abs_dir}",
                            anchor=SearchPathQuery(provider="schema"))
    GlobalHydra.instance().clear()
    app = Hydra.create_main_hydra2(task_name="rompy", config_search_path=search_path)
    cfg = app.compose_config(config_name=args.config_name or config_name, overrides=list(args.overrides),
                             with_log_configuration=False, run_mode=RunMode.RUN)
    return app, cfg


def compose_or_none(argv: list[str], conf_dir: str, config_name: str):
    """The config `argv` composes to, or None if it does not compose (for error hints only)."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.global_hydra import GlobalHydra

    try:
        args, _ = get_args_parser().parse_known_args(argv)
        return _compose(args, conf_dir, config_name)[1]
    except Exception:  # noqa: BLE001 - a hint is best effort
        return None
    finally:
        GlobalHydra.instance().clear()


def _run_job_in_place(cfg, task: Callable) -> None:
    """Hydra's `run_job` for a job that neither changes directory nor saves Hydra's files.

    With rompy's defaults (no chdir, no output subdir, no callbacks) the task can have the
    composed config itself: one copy of the hydra node instead of `run_job`'s four copies
    (rompy.hydra_job). `hydra.runtime.output_dir` is set and `hydra.run.dir` exists, as
    `run_job` would leave them; the config passed in has no `hydra` node.
    """
    from omegaconf import OmegaConf, open_dict, read_write

    from rompy.hydra_job import hydra_job

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
