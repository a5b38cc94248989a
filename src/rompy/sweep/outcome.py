"""Hand the sweep's exit code to the CLI.

Hydra's multirun discards what the sweeper returns and `@hydra.main` returns None,
so the sweeper leaves its exit code here and `rompy.cli.run_cli` takes it after
the app returns. A module global is enough: one sweep runs per process at a time.
"""

from __future__ import annotations

_exit_code: int | None = None


def set_exit_code(code: int) -> None:
    global _exit_code
    _exit_code = code


def take_exit_code() -> int | None:
    """The exit code of the sweep that just ran (None if none ran); clears it."""
    global _exit_code
    code, _exit_code = _exit_code, None
    return code
