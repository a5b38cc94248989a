"""Multirun sweeps (`-m`): every member recorded, a summary, resume, and launchers that compose each member once.

plan (members, keys, run ids), compose (a member's config), member (run one member
through the CLI's task), records (results.jsonl, summary.json, resume), progress (what
the user sees), runner (the sweep every launcher shares), launcher (rompy's Hydra
launchers), executors (where members run). Nothing heavy is imported here: Hydra's
plugin discovery imports the launchers on every start.
"""

# Hydra's multirun discards what the sweeper returns and `@hydra.main` returns None, so the
# sweep leaves its exit code here for the CLI. One sweep runs per process at a time.
_exit_code: list[int] = []


def set_exit_code(code: int) -> None:
    _exit_code[:] = [code]


def take_exit_code() -> int | None:
    """The exit code of the sweep that just ran (None if none ran); clears it."""
    code = _exit_code[0] if _exit_code else None
    _exit_code.clear()
    return code
