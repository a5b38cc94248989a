"""Which members an earlier run of the same sweep directory already finished.

Members are matched by key (plan.member_key: a hash of their overrides), not by
number, so adding a value to a sweep does not shift which members count as done.
A member is done if its latest line says `succeeded` (or `skipped`, carrying an
earlier success) and its run record on disk still says `succeeded`: a deleted or
damaged run directory is run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_KEEP = ("status", "exit_code", "model_exit_code", "started_at", "finished_at", "duration_s",
         "run_dir", "run_id", "launcher")


def latest_by_key(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for line in lines:
        if "key" in line:
            latest[line["key"]] = line
    return latest


def earlier_success(line: dict[str, Any] | None) -> dict[str, Any] | None:
    """The earlier successful result this line stands for, or None if the member must run."""
    if line is None:
        return None
    if line.get("status") == "skipped":
        previous = line.get("previous")
    elif line.get("status") == "succeeded":
        previous = {k: line.get(k) for k in _KEEP}
    else:
        return None
    if not previous or previous.get("status") != "succeeded":
        return None
    return previous if _record_says_succeeded(previous.get("run_dir")) else None


def _record_says_succeeded(run_dir: str | None) -> bool:
    if not run_dir:
        return False
    from rompy.model import RECORD_NAME

    try:
        record = json.loads((Path(run_dir) / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("status") == "succeeded"
