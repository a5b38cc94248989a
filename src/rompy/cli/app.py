"""`rompy` / `python -m rompy`: compose with Hydra, validate, call `rompy.run.run`.

The CLI decides nothing about running: it turns Hydra's composed config into a
RunConfig, hands it to the run path and maps the outcome to an exit code. Errors
become one line on stderr (a traceback only with debug=true).
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
from dataclasses import dataclass, field

from rompy.errors import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_SIGINT,
    EXIT_USAGE,
    ConfigError,
    Interrupted,
    RompyError,
)

@dataclass
class _State:
    exit_codes: list[int] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.exit_codes:
            return EXIT_OK
        for code in (143, 130, EXIT_USAGE, EXIT_RUN_FAILED):
            if code in self.exit_codes:
                return code
        return max(self.exit_codes)


def error(message: str) -> None:
    sys.stderr.write(f"rompy: error: {message}\n")
    sys.stderr.flush()


def _task_overrides() -> list[str]:
    """The command line's overrides as typed (`${oc.env:...}` unresolved)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    return [str(o) for o in OmegaConf.to_container(HydraConfig.get().overrides.task, resolve=False)]


def _sources(overrides: list[str]):
    """Where values came from, for an error message (looked up only when there is one)."""
    from hydra.core.hydra_config import HydraConfig

    from rompy.cli.diagnostics import Sources

    return Sources.of(HydraConfig.get(), overrides)


def validate(cfg, overrides: list[str] | None = None) -> tuple[object, dict]:
    """DictConfig -> (RunConfig, unresolved source dict); ConfigError with one clear line.

    `overrides`: the command line's overrides, if not those of the current Hydra job.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    from pydantic import ValidationError

    from rompy._hydra import plain_container
    from rompy.config import RunConfig

    source = plain_container(cfg)
    try:
        # Without a `${` anywhere, resolving changes nothing: a sweep validates every member twice.
        data = OmegaConf.to_container(cfg, resolve=True) if "${" in str(source) else plain_container(cfg)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        raise ConfigError(f"{key + ': ' if key else ''}{str(exc).splitlines()[0]}") from None
    from rompy.redaction import check_composed, env_reference_paths

    problem = check_composed(source)
    if problem:
        raise ConfigError(problem)
    overrides = _task_overrides() if overrides is None else overrides
    _period_as_given(data, overrides)
    _period_as_given(source, overrides)
    try:
        return RunConfig.model_validate(data), source
    except ValidationError as exc:
        from rompy.cli.diagnostics import format_validation_error

        hidden = env_reference_paths(source)
        raise ConfigError(format_validation_error(exc, data, _sources(overrides), hidden=hidden)) from None


# What the config file keeps of a period when the command line sets one part of it: start is the anchor.
_PERIOD_KEEPS = {"start": ("start", "duration"), "end": ("start", "end"), "duration": ("start", "duration")}


def _period_as_given(data: dict, overrides: list[str]) -> None:
    """Two of start, end and duration make a period. When the config file and the command line
    give all three, what the command line sets wins: `period.end=...` replaces the file's duration."""
    period = data.get("period")
    if not isinstance(period, dict) or any(period.get(k) is None for k in ("start", "end", "duration")):
        return
    keys = [o.split("=", 1)[0].lstrip("+~") for o in overrides]
    set_here = [k.split(".", 1)[1] for k in keys if k.startswith("period.") and k.count(".") == 1]
    parts = [k for k in set_here if k in ("start", "end", "duration")]
    if len(set(parts)) == 1:
        keep = _PERIOD_KEEPS[parts[0]]
    elif len(set(parts)) == 2:
        keep = tuple(parts)
    else:
        return
    for name in ("start", "end", "duration"):
        if name not in keep:
            period[name] = None


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _plain_setting(cfg, key: str):
    """A root setting needed before validation; None if it does not resolve (validation reports it)."""
    try:
        return cfg.get(key)
    except Exception:  # noqa: BLE001 - an unresolvable value is reported by validate()
        return None


def _task(state: _State):
    def task(cfg, checked: tuple | None = None) -> None:
        """Run `cfg`; `checked`: the (RunConfig, source) the sweep's check already made of it."""
        from rompy.cli import console
        from rompy.run import run
        from rompy.runtime import collector
        from rompy.runtime.signals import interruptible

        debug = _plain_setting(cfg, "debug") is True
        level = _plain_setting(cfg, "log_level")
        console.configure(level.upper() if isinstance(level, str) and level.upper() in _LEVELS else "INFO")
        # Returned (not only kept in state) so that a sweep can record each member.
        result = {"exit_code": EXIT_OK, "message": "", "outcome": None}
        try:
            with interruptible():
                config, source = checked or validate(cfg)
                collector.start_up_over()  # a run may build and drop cycles for hours
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
    from rompy.runtime import teardown

    with teardown.overlapping():  # the process ends here: what is still cleaned up is waited for once
        code = _cli(sys.argv[1:] if argv is None else argv, process_ends=True)
    # The process ends here. Interpreter shutdown would run full garbage collections over every
    # live object only to free memory the OS takes back anyway: collect the run's own garbage
    # cycles now (say, a postprocessor's unclosed file), as shutdown would, and freeze the rest.
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


def run_cli(argv: list[str]) -> int:
    """Run the CLI in-process and return its exit code; the interpreter is left as it was."""
    return _cli(argv, process_ends=False)


def _cli(argv: list[str], process_ends: bool) -> int:
    if _may_be_subcommand(argv):  # `rompy runs ...`: never a Hydra override (those hold = or +/~)
        from rompy.cli import subcommands

        if subcommands.is_subcommand(argv):
            return subcommands.main(argv)
        error(subcommands.bare_word_problem(argv[0]))
        return EXIT_USAGE
    from rompy.cli.completion import answer_subcommand

    if answer_subcommand(argv):  # tab completion of a sub-command's line: answered without Hydra
        return EXIT_OK
    if "--version" in argv:
        print(version_text())
        return EXIT_OK
    if "--help" in argv or "-h" in argv:  # rompy's own help: groups, options, keys (rompy.help)
        from rompy.cli.help import print_help

        return print_help(argv)
    from rompy.runtime import collector

    with collector.paused_for_start_up(keep_frozen=process_ends):
        return _compose_and_run(argv)


def _may_be_subcommand(argv: list[str]) -> bool:
    """A bare first word: neither an override (`=`, a leading + or ~) nor a flag (a leading -)."""
    return bool(argv) and "=" not in argv[0] and not argv[0].startswith(("-", "+", "~"))


def _compose_and_run(argv: list[str]) -> int:
    from rompy.cli import console
    from rompy.runtime.active_runs import clean_up_leftovers

    console.configure("INFO")  # what the reaper cleaned up is news; log_level applies once composed
    clean_up_leftovers()
    import hydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rompy._hydra import version_base
    from rompy.cli import completion, compose, searchpath
    from rompy.cli.searchpath import CONFIG_NAME, CONFIG_PATH_VARIABLE, shipped_conf_dir

    for entry in filter(None, os.environ.get(CONFIG_PATH_VARIABLE, "").split(":")):
        if not os.path.isdir(os.path.expanduser(entry)):
            error(f"{CONFIG_PATH_VARIABLE}: {entry!r} is not a directory (entries are colon-separated folders)")
            return EXIT_USAGE

    from rompy._hydra import flags_first
    from rompy.cli.secrets import check_command_line

    argv, unknown = flags_first(argv)
    if unknown:
        error(f"unknown flag {unknown[0]!r}; rompy --help lists the flags (overrides are key=value)")
        return EXIT_USAGE
    problem = searchpath.user_primary_problem(argv)
    if problem:
        error(problem)
        return EXIT_USAGE
    problem = check_command_line(argv)
    if problem:
        error(problem)
        return EXIT_USAGE

    compose.new_command()
    state = _State()
    app = hydra.main(config_path=str(shipped_conf_dir()), config_name=CONFIG_NAME, **version_base())(_task(state))
    saved_argv, saved_full_error = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = [saved_argv[0] if saved_argv else "rompy", *argv]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's own errors reach us (exit 2, one line)
    searchpath.COMPOSING = True
    try:
        if not compose.try_single_run(argv, str(shipped_conf_dir()), CONFIG_NAME, _task(state)):
            app()
            if completion.installs_bash_completion(argv):
                sys.stdout.write(completion.PYTHON_M_COMPLETION)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:  # ValueError: some bad overrides
        from rompy.cli.diagnostics import format_hydra_error

        error(format_hydra_error(exc, argv))
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: --help, bad flags
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:  # Ctrl-C before a run or a sweep's check began
        error("interrupted")
        return EXIT_SIGINT
    except Exception as exc:  # a broken config file, a launcher whose optional extra is missing, a bad plugin
        from rompy.cli.diagnostics import config_file_problem, plugin_problem
        from rompy.errors import MissingExtra

        missing = MissingExtra.of(exc, " ".join(a for a in argv if a.startswith("hydra/")) or "this command")
        problem = str(missing) if missing else config_file_problem(exc, argv) or plugin_problem(exc, argv)
        if problem is None:
            raise
        error(problem)
        return EXIT_USAGE
    finally:
        searchpath.COMPOSING = False
        sys.argv = saved_argv
        if saved_full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_full_error
    from rompy.sweep import take_exit_code

    sweep_code = take_exit_code()  # multirun: 1 if any member failed, 130/143 if interrupted
    return state.exit_code if sweep_code is None else sweep_code
