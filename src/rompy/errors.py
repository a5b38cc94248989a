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
