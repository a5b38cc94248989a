"""Errors rompy raises on purpose, and the exit code each one maps to.

Every user-facing failure is one of these, so the CLI can print one clear line
instead of a traceback and pick the documented exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class RompyError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_code = EXIT_RUN_FAILED


class ConfigError(RompyError):
    """The configuration is invalid (bad value, unknown key, unknown option)."""

    exit_code = EXIT_USAGE


class RunDirectoryExists(ConfigError):
    """The run directory exists and `delete_existing` is false."""

    def __init__(self, run_dir) -> None:
        super().__init__(f"run directory {run_dir} already exists; choose another run_id or set "
                         "delete_existing=true to replace it")


#: Modules of rompy-hydra's optional extras: import name -> (distribution, extra).
EXTRAS = {"submitit": ("submitit", "slurm"), "hydra_submitit_launcher": ("hydra-submitit-launcher", "slurm")}


class MissingExtra(ConfigError):
    """A feature needs a package of an optional extra that is not installed."""

    def __init__(self, feature: str, module: str) -> None:
        distribution, extra = EXTRAS[module]
        super().__init__(f"{feature} needs {distribution}, which is not installed: "
                         f"pip install 'rompy-hydra[{extra}]'")

    @staticmethod
    def of(exc: BaseException, feature: str) -> "MissingExtra | None":
        """The MissingExtra an ImportError stands for, or None if it is not about an extra's module."""
        name = getattr(exc, "name", None) or ""
        modules = [part for part in name.split(".") if part in EXTRAS]
        return MissingExtra(feature, modules[0]) if isinstance(exc, ImportError) and modules else None


class PreflightError(RompyError):
    """A backend cannot start (no engine, not enough resources): nothing was created."""

    exit_code = EXIT_USAGE


class RunFailed(RompyError):
    """The model, the image build/pull or a postprocessor failed."""

    exit_code = EXIT_RUN_FAILED


class Interrupted(BaseException):
    """Raised in the main thread when rompy receives SIGINT or SIGTERM.

    A BaseException like KeyboardInterrupt, so `except Exception` blocks in user
    code cannot swallow it and cleanup in `finally` blocks always runs.
    """

    def __init__(self, signum: int):
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
