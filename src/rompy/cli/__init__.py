"""The command line: `rompy` and `python -m rompy`.

app (the entry point, the task Hydra calls, exit codes), compose (composing once for a
plain run), searchpath (where config groups are found), help (`--help`), diagnostics
(one-line errors), files (reading users' config files), secrets (secrets refused on the
command line), completion, console (rompy's log lines).
"""

from rompy.cli.app import main, run_cli

__all__ = ["main", "run_cli"]
