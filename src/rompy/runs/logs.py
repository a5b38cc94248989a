"""A run's log files and their last lines, for `rompy show` and the sweep report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TAIL_BYTES = 256 * 1024  # logs can be large: only their end is read


def log_files(record: dict[str, Any], run_dir: Path) -> list[Path]:
    """The logs the backend names in the record, else `logs/*.log` of the run folder; those that exist."""
    backend = record.get("backend")
    logs = backend.get("logs") if isinstance(backend, dict) else None
    paths = [Path(p) for p in logs.values() if isinstance(p, str)] if isinstance(logs, dict) else []
    if not paths:
        paths = sorted((Path(run_dir) / "logs").glob("*.log"))
    return [p for p in paths if p.is_file()]


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a file ([] if it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - TAIL_BYTES, 0))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:] if lines else []


def last_error_line(record: dict[str, Any], run_dir: Path) -> str:
    """The last non-empty line the model wrote to stderr, if it wrote any."""
    for path in log_files(record, run_dir):
        if path.name.startswith("stderr"):
            for line in reversed(tail(path, 20)):
                if line.strip():
                    return line.strip()
    return ""
