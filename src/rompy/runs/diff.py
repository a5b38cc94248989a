"""How runs differ: what they were asked to do (config) and how they ended (outcome).

A record is split in two flat views of dotted keys. The outcome view holds the fields a
run fills in as it goes (status, exit code, timings, metrics, host, versions); the asked
view is the config plus every other field of the record, so a field a newer rompy adds
(say, `period`) is compared without anyone naming it here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Record fields that describe how the run went or where it lives, not what it was asked to do.
RUN_FIELDS = frozenset({
    "run_id", "status", "stage", "failed_stage", "exit_code", "message", "started_at", "finished_at",
    "duration_s", "run_dir", "config", "versions", "host", "pid", "backend", "postprocess", "metrics",
    "record_error",
})
#: Config keys every run has its own value of: never a difference worth showing.
OWN_KEYS = frozenset({"run_id"})


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING = _Missing()


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists and scalars are values, an empty mapping is one too."""
    if not isinstance(data, dict) or (not data and prefix):
        return {prefix.rstrip("."): data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(flatten(value, f"{prefix}{key}."))
    return flat


def shown(value: Any) -> str:
    """A value as typed on the command line: numbers without needless decimals, lists as JSON."""
    if value is MISSING:
        return "(absent)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def asked_of(record: dict[str, Any]) -> dict[str, Any]:
    """What the run was asked to do: its config and any record field that is not about the outcome."""
    asked = {k: v for k, v in flatten(record.get("config") or {}).items() if k not in OWN_KEYS}
    for name, value in record.items():
        if name not in RUN_FIELDS:
            asked.update(flatten(value, f"{name}."))
    return asked


def outcome_of(record: dict[str, Any]) -> dict[str, Any]:
    """How the run ended, flat: status, where and why it failed, exit codes, duration, metrics, host, versions."""
    backend = record.get("backend") or {}
    post = record.get("postprocess") or {}
    view = {
        "status": record.get("status"), "failed_stage": record.get("failed_stage"),
        "exit_code": record.get("exit_code"), "message": record.get("message") or "",
        "duration_s": record.get("duration_s"), "host": record.get("host"),
        "backend.status": backend.get("status"), "backend.message": backend.get("message"),
        "postprocess.success": post.get("success"), "postprocess.message": post.get("message"),
    }
    for name in ("versions", "metrics"):
        if record.get(name):
            view.update(flatten(record[name], f"{name}."))
    return {k: v for k, v in view.items() if v is not None}


def differing(views: list[dict[str, Any]]) -> list[str]:
    """Keys whose value is not the same in every view (absent counts as a value), sorted."""
    if len(views) < 2:
        return []
    keys: set[str] = set().union(*views)
    # An empty mapping where another run has keys under it is told by those keys
    # ('env_vars.A: 1 | (absent)'), not as a value of its own beside them.
    parents = {key[:i] for key in keys for i, char in enumerate(key) if char == "."}
    keys -= {k for k in parents & keys if all(view.get(k, MISSING) in ({}, MISSING) for view in views)}
    first = views[0]
    return sorted(k for k in keys if any(view.get(k, MISSING) != first.get(k, MISSING) for view in views))


@dataclass
class RecordDiff:
    """(key, value in A, value in B) for every key that differs, per side of the record."""

    config: list[tuple[str, Any, Any]] = field(default_factory=list)
    outcome: list[tuple[str, Any, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.config or self.outcome)


def diff_records(a: dict[str, Any], b: dict[str, Any]) -> RecordDiff:
    def pairs(x: dict[str, Any], y: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        return [(k, x.get(k, MISSING), y.get(k, MISSING)) for k in differing([x, y])]

    return RecordDiff(config=pairs(asked_of(a), asked_of(b)), outcome=pairs(outcome_of(a), outcome_of(b)))
