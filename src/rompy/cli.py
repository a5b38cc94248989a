"""`rompy` / `python -m rompy`: compose with Hydra, validate, call `rompy.run.run`.

The CLI decides nothing about running: it turns Hydra's composed config into a
RunConfig, hands it to the run path and maps the outcome to an exit code.
Errors become one line on stderr (a traceback only with debug=true).
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

from rompy.errors import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_SIGINT,
    EXIT_USAGE,
    ConfigError,
    Interrupted,
    RompyError,
)

# True while rompy's own app composes; the search-path plugin acts only then.
COMPOSING = False


@dataclass
class _State:
    resume_collector: Callable[[], None] = lambda: None
    exit_codes: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.exit_codes:
            return EXIT_OK
        for code in (143, 130, EXIT_USAGE, EXIT_RUN_FAILED):
            if code in self.exit_codes:
                return code
        return max(self.exit_codes)


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


def register_resolvers() -> None:
    """rompy's OmegaConf resolvers; idempotent, needed wherever rompy's config is resolved."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("rompy.command_id"):
        OmegaConf.register_new_resolver("rompy.command_id", command_id, use_cache=True)


def error(message: str) -> None:
    sys.stderr.write(f"rompy: error: {message}\n")
    sys.stderr.flush()


def _sources():
    from hydra.core.hydra_config import HydraConfig

    from rompy.diagnostics import Sources

    hc = HydraConfig.get()
    search_dirs = [
        str(src.path) for src in hc.runtime.config_sources if src.schema == "file" and src.path
    ]
    choices = {k: v for k, v in hc.runtime.choices.items() if not k.startswith("hydra")}
    from omegaconf import OmegaConf

    # resolve=False: an override's ${oc.env:...} must be reported as typed, not as its value.
    overrides = OmegaConf.to_container(hc.overrides.task, resolve=False)
    return Sources(overrides=[str(o) for o in overrides], choices=choices, search_dirs=search_dirs)


def validate(cfg) -> tuple[object, dict]:
    """DictConfig -> (RunConfig, unresolved source dict); ConfigError with one clear line."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    from pydantic import ValidationError

    from rompy.config import RunConfig
    from rompy.diagnostics import format_validation_error

    try:
        data = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        raise ConfigError(f"{key + ': ' if key else ''}{str(exc).splitlines()[0]}") from None
    source = OmegaConf.to_container(cfg, resolve=False)
    from rompy.secrets_policy import check_composed, env_reference_paths

    problem = check_composed(source)
    if problem:
        raise ConfigError(problem)
    try:
        return RunConfig.model_validate(data), source
    except ValidationError as exc:
        hidden = env_reference_paths(source)
        raise ConfigError(format_validation_error(exc, data, _sources(), hidden=hidden)) from None


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _plain_setting(cfg, key: str):
    """A root setting needed before validation; None if it does not resolve (validation reports it)."""
    try:
        return cfg.get(key)
    except Exception:  # noqa: BLE001 - an unresolvable value is reported by validate()
        return None


def _task(state: _State):
    def task(cfg) -> None:
        from rompy import logs
        from rompy.run import run
        from rompy.signals import interruptible

        debug = _plain_setting(cfg, "debug") is True
        level = _plain_setting(cfg, "log_level")
        logs.configure(level.upper() if isinstance(level, str) and level.upper() in _LEVELS else "INFO")
        # Returned (not only kept in state) so that a sweep can record each member.
        result = {"exit_code": EXIT_OK, "message": "", "outcome": None}
        try:
            with interruptible():
                config, source = validate(cfg)
                state.resume_collector()  # start-up is over; a run may build and drop cycles for hours
                outcome = run(config, source)
            result.update(exit_code=outcome.exit_code, outcome=outcome)
        except Interrupted as exc:
            error(f"interrupted by {exc}")
            result.update(exit_code=exc.exit_code, message=f"interrupted by {exc}")
        except KeyboardInterrupt:
            error("interrupted")
            result.update(exit_code=EXIT_SIGINT, message="interrupted")
        except RompyError as exc:
            if debug:
                traceback.print_exc()
            error(str(exc))
            result.update(exit_code=exc.exit_code, message=str(exc))
        except Exception as exc:  # a bug or an environment fault: still one line
            if debug:
                traceback.print_exc()
            error(f"{type(exc).__name__}: {exc} (run with debug=true for a traceback)")
            result.update(exit_code=EXIT_RUN_FAILED, message=f"{type(exc).__name__}: {exc}")
        state.exit_codes.append(result["exit_code"])
        return result

    return task


def main(argv: list[str] | None = None) -> int:
    """Entry point of `rompy` and `python -m rompy`; exits with the documented code."""
    # `python -m rompy` finds modules in the current folder (`type: "mypkg.post:MyPost"`); so does `rompy`.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    code = _cli(sys.argv[1:] if argv is None else argv, process_ends=True)
    # The process ends here. Interpreter shutdown runs full garbage collections over every object
    # still alive (~0.13 s after a dry run here) only to free memory the OS takes back anyway.
    # Start-up's objects are frozen already; the run's garbage cycles (say, a postprocessor's
    # unclosed file) are collected now, as shutdown would have, and the rest is frozen too.
    # atexit handlers, log flushing and refcount-driven cleanup still run.
    gc.collect()
    gc.freeze()
    sys.exit(code)


def version_text() -> str:
    """`rompy --version`: rompy's version, then what it runs on."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from rompy import __version__

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return (f"rompy {__version__}\nHydra {installed('hydra-core')}, Pydantic {installed('pydantic')}, "
            f"Python {platform.python_version()}")


# Printed after Hydra's own script by `rompy -sc install=bash`. Bash completes the command word,
# which for `python -m rompy` is the interpreter: this function completes rompy's part of such a
# line; registering it for an interpreter is left to the user (docs/configuration.md).
PYTHON_M_COMPLETION = r"""
# `python -m rompy` too: complete -o nospace -o default -F rompy_python_m_completion python3
rompy_python_m_completion()
{
    local words=($COMP_LINE)
    if [ "${words[1]}" != "-m" ] || [ "${words[2]}" != "rompy" ] || (( COMP_CWORD < 3 )); then
        return 0
    fi
    local head="${COMP_LINE%%rompy*}rompy"
    local line="rompy${COMP_LINE:${#head}}"
    local point=$(( COMP_POINT - ${#head} + 5 ))
    local choices=$(COMP_POINT=$point COMP_LINE="$line" "${words[0]}" -m rompy -sc query=bash)
    COMPREPLY=($( compgen -o nospace -o default -W "$choices" -- "${words[$COMP_CWORD]}" ))
}
"""


def _installs_bash_completion(argv: list[str]) -> bool:
    pairs = zip(argv, argv[1:])
    return any(flag in ("-sc", "--shell-completion") and value == "install=bash" for flag, value in pairs) or \
        "--shell-completion=install=bash" in argv


def run_cli(argv: list[str]) -> int:
    """Run the CLI in-process and return its exit code; the interpreter is left as it was."""
    return _cli(argv, process_ends=False)


def _cli(argv: list[str], process_ends: bool) -> int:
    if "--version" in argv:
        print(version_text())
        return EXIT_OK
    if "--help" in argv or "-h" in argv:  # rompy's own help: groups, options, keys (rompy.help)
        from rompy.help import print_help

        return print_help(argv)
    with _collector_paused(keep_frozen=process_ends) as resume_collector:
        return _compose_and_run(argv, resume_collector)


@contextmanager
def _collector_paused(keep_frozen: bool = False):
    """Pause the cyclic garbage collector for start-up; yields a callable that resumes it.

    Start-up (imports, composition, validation) creates ~80,000 long-lived container
    objects and little garbage; the collector's repeated passes over them cost ~5 % of a
    dry run. Resuming freezes what start-up built, so the first collection does not walk it
    all either. Leaving the block unfreezes it (only if nothing was frozen before), unless
    the process ends next (`keep_frozen`).
    """
    was_enabled, frozen_before = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    resumed = False

    def resume() -> None:  # once: later sweep members must not freeze earlier members' garbage
        nonlocal resumed
        if not resumed:
            resumed = True
            gc.freeze()
            if was_enabled:
                gc.enable()

    try:
        yield resume
    finally:
        if keep_frozen:
            resume()
        elif not frozen_before:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _compose_and_run(argv: list[str], resume_collector) -> int:
    global COMPOSING
    from rompy import logs
    from rompy.active_runs import clean_up_leftovers

    logs.configure("INFO")  # what the reaper cleaned up is news; log_level applies once composed
    clean_up_leftovers()
    import hydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rompy.diagnostics import config_file_problem, format_hydra_error
    from rompy.paths import CONFIG_NAME, CONFIG_PATH_VARIABLE, shipped_conf_dir

    for entry in filter(None, os.environ.get(CONFIG_PATH_VARIABLE, "").split(":")):
        if not os.path.isdir(os.path.expanduser(entry)):
            error(f"{CONFIG_PATH_VARIABLE}: {entry!r} is not a directory (entries are colon-separated folders)")
            return EXIT_USAGE

    from rompy.secrets_policy import check_command_line

    problem = check_command_line(argv)
    if problem:
        error(problem)
        return EXIT_USAGE

    _COMMAND_ID.clear()  # a new id for each command, also when run_cli runs several in one process
    register_resolvers()
    state = _State(resume_collector=resume_collector)
    # 1.3 defaults (no chdir) need version_base="1.3"; Hydra 1.4 deprecates the argument (a warning on
    # every run) and its defaults are those already. See docs/next-hydra.md.
    base = {"version_base": "1.3"} if hydra.__version__.startswith("1.3.") else {}
    app = hydra.main(config_path=str(shipped_conf_dir()), config_name=CONFIG_NAME, **base)(_task(state))
    saved_argv, saved_full_error = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = [saved_argv[0] if saved_argv else "rompy", *argv]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's own errors reach us (exit 2, one line)
    COMPOSING = True
    try:
        from rompy.single_run import try_single_run

        if not try_single_run(argv, str(shipped_conf_dir()), CONFIG_NAME, _task(state)):
            app()
            if _installs_bash_completion(argv):
                sys.stdout.write(PYTHON_M_COMPLETION)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:  # ValueError: some bad overrides
        error(format_hydra_error(exc, argv))
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: --help, bad flags
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_SIGINT
    except Exception as exc:  # a broken config file, or a launcher whose optional extra is missing
        from rompy.errors import MissingExtra

        missing = MissingExtra.of(exc, " ".join(a for a in argv if a.startswith("hydra/")) or "this command")
        problem = str(missing) if missing else config_file_problem(exc, argv)
        if problem is None:
            raise
        error(problem)
        return EXIT_USAGE
    finally:
        COMPOSING = False
        sys.argv = saved_argv
        if saved_full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_full_error
    from rompy.sweep.outcome import take_exit_code

    sweep_code = take_exit_code()  # multirun: 1 if any member failed, 130/143 if interrupted
    return state.exit_code if sweep_code is None else sweep_code
