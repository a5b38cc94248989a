"""Sweeps as `rompy sweeps` and `rompy report` see them: a folder with results.jsonl and summary.json.

A sweep that ended has its summary; one still running has only the lines of the members
that finished (its folder is locked); one whose process died has lines and no summary.
The members shown are the latest line of each member, so a resumed sweep shows each
member once, however often it ran.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rompy.errors import ConfigError
from rompy.sweep.records import (
    RESULTS_NAME,
    SUMMARY_NAME,
    TABLE_ORDER,
    ResultsFile,
    counts_of,
    latest_by_key,
)

SWEEPS_FOLDER = "sweeps"
MARKERS = (RESULTS_NAME, SUMMARY_NAME, "multirun.yaml")


@dataclass
class SweepView:
    dir: Path
    sweep_id: str
    state: str  # running, ended, stopped (its process died before the summary)
    members: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    launcher: str = ""
    started_at: str = ""
    duration_s: float | None = None

    @property
    def run_ids(self) -> set[str]:
        return {m["run_id"] for m in self.members if m.get("run_id")}


def is_sweep_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in MARKERS)


def load_sweep(path: Path) -> SweepView:
    """The sweep in `path`; ConfigError (one line) if it is not a sweep folder."""
    if not path.is_dir():
        raise ConfigError(f"{path} is not a folder")
    if not is_sweep_dir(path):
        raise ConfigError(f"{path} is not a sweep folder (it holds no {RESULTS_NAME}, {SUMMARY_NAME} "
                          "or multirun.yaml)")
    from rompy.sweep.lock import sweep_is_running

    lines = ResultsFile(path).read()
    summary = _summary(path, lines)
    if summary is not None:
        members = [m for m in summary.get("members") or [] if isinstance(m, dict)]
    else:
        members = sorted(latest_by_key(lines).values(), key=lambda m: m.get("member", 0))
    members = [m for m in members if "status" in m]
    running = sweep_is_running(path)
    first = lines[0] if lines else {}
    started = (summary or {}).get("started_at") or min((m.get("started_at") or "" for m in lines), default="")
    return SweepView(
        dir=path, sweep_id=str((summary or {}).get("sweep_id") or first.get("sweep_id") or path.name),
        state="running" if running else "ended" if summary is not None else "stopped",
        members=members, counts=_failures_first(counts_of(m["status"] for m in members)), summary=summary,
        launcher=str((summary or {}).get("launcher") or first.get("launcher") or ""), started_at=started,
        duration_s=(summary or {}).get("duration_s"),
    )


def _failures_first(counts: dict[str, int]) -> dict[str, int]:
    order = {status: i for i, status in enumerate(TABLE_ORDER)}
    return {k: v for k, v in sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order))) if v}


def _summary(path: Path, lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    """summary.json, unless lines were added after it (a resumed sweep still running, or killed)."""
    summary_path = path / SUMMARY_NAME
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        if lines and os.stat(path / RESULTS_NAME).st_mtime_ns > summary_path.stat().st_mtime_ns:
            return None
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def list_sweeps(output_dir: Path) -> list[SweepView]:
    """The sweeps in `<output_dir>/sweeps/`, oldest first."""
    folder = output_dir / SWEEPS_FOLDER
    try:
        paths = [Path(e.path) for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read {folder}: {exc.strerror or exc}") from None
    views = [load_sweep(p) for p in paths if is_sweep_dir(p)]
    return sorted(views, key=lambda v: (v.started_at, v.dir.name))


def find_sweep(output_dir: Path, given: str) -> Path:
    """The sweep folder `given` names: a path to one, or a sweep id under `<output_dir>/sweeps/`."""
    from rompy.runs.index import did_you_mean

    path = Path(given)
    folder = output_dir / SWEEPS_FOLDER
    if os.sep in given or given in (".", ".."):
        return path
    if (folder / given).is_dir():
        return folder / given
    if path.is_dir():
        return path  # a folder here: load_sweep says whether it is a sweep
    names = sorted(v.dir.name for v in list_sweeps(output_dir))
    starting = [n for n in names if n.startswith(given)]
    if len(starting) == 1:
        return folder / starting[0]
    raise ConfigError(f"no sweep {given!r} in {folder}{did_you_mean(given, names, 'sweeps')}")
