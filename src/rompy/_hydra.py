"""Everything rompy uses of Hydra beyond its public API, in one place, with the version it was written for.

rompy composes a plain run once (where `@hydra.main` composes twice), runs a job without
`run_job`'s config copies, and composes sweep members from shared templates. These need
Hydra's internals; each use is a small function here, so that a new Hydra breaks this
module only (docs/next-hydra.md says what 1.4 changes).
"""

from __future__ import annotations

import functools
import os
import re
from contextlib import contextmanager
from typing import Any, Callable

import hydra

#: Hydra 1.3 wants `version_base="1.3"` for its no-chdir defaults; 1.4 warns on any version_base
#: and has those defaults already.
HYDRA_1_3 = hydra.__version__.startswith("1.3.")


def version_base() -> dict[str, str]:
    """The keyword arguments for `hydra.main` / `initialize*` that give Hydra 1.3's defaults without warnings."""
    return {"version_base": "1.3"} if HYDRA_1_3 else {}


def register_resolver(name: str, resolver: Callable, use_cache: bool = False) -> None:
    """Register an OmegaConf resolver once, with the call its OmegaConf version does not deprecate.

    OmegaConf 2.4 deprecates `register_new_resolver` (its warning would break rompy's one-line
    errors) for `register_resolver`, which on 2.3 is the legacy string-only API.
    """
    import inspect

    from omegaconf import OmegaConf

    if OmegaConf.has_resolver(name):
        return
    if "use_cache" in inspect.signature(OmegaConf.register_resolver).parameters:
        OmegaConf.register_resolver(name, resolver, use_cache=use_cache)
    else:
        OmegaConf.register_new_resolver(name, resolver, use_cache=use_cache)


# -- the command line -------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _args_parser():
    """Hydra's own command-line parser, built once per process."""
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def parse_command_line(argv: list[str]):
    """(Hydra's parsed flags, unknown arguments) for a rompy command line."""
    return _args_parser().parse_known_args(argv)


def flags_first(argv: list[str]) -> tuple[list[str], list[str]]:
    """(argv with Hydra's flags and their values ahead of the overrides, unknown flags).

    argparse takes the overrides as one positional run, so an override after a flag was
    "unrecognized arguments" (`rompy backend=docker -m model.depths=[10],[20]`). The
    overrides keep their order; so do the flags.
    """
    arity = {option: (action.nargs, action.choices)
             for action in _args_parser()._actions for option in action.option_strings}
    flags, overrides, unknown = [], [], []
    position = 0
    while position < len(argv):
        arg = argv[position]
        position += 1
        name = arg.split("=", 1)[0]
        if arg == "--":  # argparse's end of flags: the rest are overrides
            overrides.extend(argv[position:])
            break
        if not arg.startswith("-"):
            overrides.append(arg)
            continue
        if name not in arity:
            unknown.append(arg)
            continue
        flags.append(arg)
        nargs, choices = arity[name]
        takes_next = nargs is None or (nargs == "?" and choices is not None and position < len(argv)
                                       and argv[position] in choices)
        if "=" not in arg and takes_next and position < len(argv):
            flags.append(argv[position])
            position += 1
    return flags + overrides, unknown


def create_app(conf_dir: str, config_dir: str | None):
    """A Hydra app searching the shipped conf_dir (and `--config-dir`), as `@hydra.main` would create it."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import SearchPathException

    search_path = create_config_search_path(f"file://{conf_dir}")
    if config_dir is not None:
        abs_dir = os.path.abspath(config_dir)
        if not os.path.isdir(abs_dir):
            raise SearchPathException(f"Additional config directory '{abs_dir}' not found")
        search_path.prepend(provider="command-line", path=f"file://{abs_dir}",
                            anchor=SearchPathQuery(provider="schema"))
    GlobalHydra.instance().clear()
    return Hydra.create_main_hydra2(task_name="rompy", config_search_path=search_path)


def run_job_with_callbacks(app, cfg, task: Callable) -> None:
    """Hydra's own `run_job` (chdir, output subdir, callbacks), re-raising what the task raised."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.utils import run_job
    from hydra.types import HydraContext

    ret = run_job(hydra_context=HydraContext(config_loader=app.config_loader, callbacks=Callbacks(cfg)),
                  task_function=task, config=cfg, job_dir_key="hydra.run.dir", job_subdir_key=None,
                  configure_logging=False)
    _ = ret.return_value  # re-raises what the task raised, as Hydra.run does


@contextmanager
def hydra_job(hydra_cfg):
    """Within: HydraConfig answers from `hydra_cfg` ({hydra: ...}) and its job.env_set is applied.

    What a plain run and every sweep member need of `run_job`, without its per-job
    deep copies and logging set-up.
    """
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


# -- sweeps ----------------------------------------------------------------------------
def split_sweep_arguments(parsed: list) -> list[list[str]]:
    """The members' override lists of a sweep, as Hydra's basic sweeper splits them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(member) for member in batches[0]] if batches else []


def group_repository(config_loader, config_name: str, hydra_overrides: list[str]):
    """The config repository a sweep composes from, to tell group overrides from value overrides."""
    _, repository = config_loader._parse_overrides_and_create_caching_repo(config_name, hydra_overrides)
    return repository


def apply_value_overrides(overrides: list, cfg) -> None:
    """Apply parsed value overrides (`a.b=1`, `+c=2`, `~d`) to a composed config, as Hydra does."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    ConfigLoaderImpl._apply_overrides_to_config(overrides, cfg)


def plain_container(cfg) -> Any:
    """OmegaConf.to_container(cfg, resolve=False), read straight from the config's nodes.

    to_container looks every node up again through the container's checks; the nodes
    were checked when they were set, and a sweep reads every member's config twice.
    """
    from omegaconf import OmegaConf

    try:
        return _plain(cfg)
    except AttributeError:  # OmegaConf's node layout moved: ask OmegaConf
        return OmegaConf.to_container(cfg, resolve=False)


def _plain(node) -> Any:
    from omegaconf import Container, DictConfig

    if node._is_none():
        return None
    if node._is_missing():
        return "???"
    if node._is_interpolation():
        return node._value()
    content = node.__dict__["_content"]
    if isinstance(node, DictConfig):
        return {key: _plain(child) if isinstance(child, Container) else child._value()
                for key, child in content.items()}
    return [_plain(child) if isinstance(child, Container) else child._value() for child in content]


def run_id_override(run_id: str, line: str):
    """The parsed form of `run_id='<slug>'`, built directly (Hydra's parser would give the same)."""
    from hydra.core.override_parser.types import Override, OverrideType, Quote, QuotedString, ValueType

    return Override(type=OverrideType.CHANGE, key_or_group="run_id", value_type=ValueType.ELEMENT,
                    _value=QuotedString(text=run_id, quote=Quote.single), input_line=line)


#: `key=<integer>`, `+key=...`, `++key=...` with a plain dotted key: what an ensemble over `range()` gives each member.
_INT_VALUE_LINE = re.compile(r"(\+{0,2})([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)=(-?(?:0|[1-9][0-9]*))", re.ASCII)


def int_value_override(line: str):
    """The parsed form of `[+|++]a.b=<integer>`, built directly; None for any other line.

    Hydra's parser would give the same, at a fraction of a millisecond per line that a
    10,000-member sweep pays twice for every member (checked, then run).
    """
    match = _INT_VALUE_LINE.fullmatch(line)
    if match is None:
        return None
    from hydra.core.override_parser.types import Override, OverrideType, ValueType

    kind = (OverrideType.CHANGE, OverrideType.ADD, OverrideType.FORCE_ADD)[len(match.group(1))]
    return Override(type=kind, key_or_group=match.group(2), value_type=ValueType.ELEMENT,
                    _value=int(match.group(3)), input_line=line)


def overrides_dirname(parsed: list, exclude_keys: list[str], item_sep: str, kv_sep: str) -> str:
    """`hydra.job.override_dirname` for a member's parsed overrides (what Hydra 1.3 computes)."""
    lines = sorted(o.input_line for o in parsed if o.key_or_group not in exclude_keys)
    return re.sub("[=]", kv_sep, item_sep.join(lines))


def job_return_value(ret) -> Any:
    """What a job returned, or the exception it raised, without re-raising it."""
    return ret._return_value


#: Where Hydra instantiates the plugins a config selects, and refuses them (not in the hydra_plugins
#: package, an unknown class, the wrong kind of plugin, no `_target_`).
_PLUGIN_INSTANTIATION = {"instantiate_sweeper": "sweeper", "instantiate_launcher": "launcher"}
_PLUGIN_REFUSALS = {"_instantiate", "_get_cls_name", *_PLUGIN_INSTANTIATION}


def refused_plugin(exc: BaseException) -> tuple[str, str | None] | None:
    """('sweeper' or 'launcher', the `_target_` its config names) when Hydra refused that plugin.

    Hydra's own errors here name neither the plugin kind nor, for the wrong kind, the class;
    its frames do. None when the error came from anywhere else, including a plugin's own
    constructor or setup.
    """
    from omegaconf import OmegaConf

    made = next((m for m in _plugins_being_made(exc) if m[2] in _PLUGIN_REFUSALS), None)
    if made is None:
        return None
    kind, config, _ = made
    try:
        target = OmegaConf.select(config, f"hydra.{kind}._target_", default=None)
    except Exception:  # noqa: BLE001 - the class name is a detail of the message
        target = None
    return kind, None if target is None else str(target)


def plugin_options(exc: BaseException) -> tuple[str, Any] | None:
    """('sweeper' or 'launcher', its options as written, unresolved: a mapping, or whatever else
    the option file held) when the error came while Hydra made that plugin; else None."""
    from omegaconf import OmegaConf

    made = next(_plugins_being_made(exc), None)
    if made is None:
        return None
    kind, config, _ = made
    try:
        node = OmegaConf.select(config, f"hydra.{kind}", default=None)
        options = OmegaConf.to_container(node, resolve=False) if node is not None else None
    except Exception:  # noqa: BLE001 - then nothing more is known
        return None
    return kind, options


def _plugins_being_made(exc: BaseException):
    """(kind, the config Hydra instantiates it from, the innermost function) for each error of
    the chain raised while Hydra instantiated the sweeper or the launcher, read from its frames."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        kind, config, innermost = None, None, None
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_code.co_name
            if name in _PLUGIN_INSTANTIATION:
                kind, config = _PLUGIN_INSTANTIATION[name], tb.tb_frame.f_locals.get("config")
            innermost = name
            tb = tb.tb_next
        if kind:
            yield kind, config, innermost
        exc = exc.__cause__ or exc.__context__
