"""The runs under an output folder: one row per run record, found fast through an index that is only a cache.

Every run directory `<output_dir>/<run_id>/` holds its record. Reading thousands of
records takes seconds, so a summary row of each is kept in an SQLite file in rompy's
state folder (one per output folder) with the record file's size, mtime and inode. A
row is used only while its file is unchanged and was not written in the last two
seconds; a record that changed (a run that finished, a record marked interrupted) is
read again, a deleted run drops out, an unreadable record is counted, not listed.
Deleting the index loses nothing; if it cannot be written, rompy reads every record.
Records are read through `RecordStore` only.
"""

from __future__ import annotations

import difflib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rompy.errors import ConfigError
from rompy.record import RECORD_NAME

INDEX_VERSION = 1  # bump when RunRow changes: an index of another version is rebuilt
RACY_NS = 2_000_000_000  # a file written this recently may change again within its mtime's resolution


@dataclass
class RunRow:
    """What the listing needs of one record."""

    name: str  # the run directory's name (the run id, unless the folder was renamed)
    run_id: str
    status: str
    exit_code: int | None
    started_at: str
    finished_at: str | None
    duration_s: float | None
    backend: str
    model: str
    message: str
    failed_stage: str | None
    run_dir: str
    metrics: dict[str, float] = field(default_factory=dict)
    asked: dict[str, Any] = field(default_factory=dict)  # config and other fields, flat (rompy.runs.diff)

    @classmethod
    def of(cls, name: str, run_dir: Path, record: dict[str, Any]) -> "RunRow":
        from rompy.runs.diff import asked_of

        config = record.get("config") or {}
        return cls(
            name=name, run_id=record.get("run_id") or name, status=record.get("status") or "running",
            exit_code=record.get("exit_code"), started_at=record.get("started_at") or "",
            finished_at=record.get("finished_at"), duration_s=record.get("duration_s"),
            backend=_type_of(config.get("backend")), model=_type_of(config.get("model")),
            message=record.get("message") or "", failed_stage=record.get("failed_stage"),
            run_dir=str(run_dir), metrics=record.get("metrics") or {}, asked=asked_of(record),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # the values are JSON already; asdict's deep copies cost more than the rest


def _type_of(section: Any) -> str:
    return str(section.get("type") or "") if isinstance(section, dict) else ""


@dataclass
class Listing:
    """The runs that matched, oldest first, and what the folder held besides."""

    output_dir: Path
    rows: list[RunRow]
    matched: int  # before --limit
    total: int  # readable records in the folder
    counts: dict[str, int]  # matched runs per status
    unreadable: list[Path] = field(default_factory=list)  # records that could not be read


@dataclass
class _Entry:
    name: str
    status: str | None  # None: the record cannot be read
    started_at: str
    model: str
    row: str | RunRow | None  # JSON text from the index, or the row just read


# -- where the output folder is -----------------------------------------------------------


# -- the index ------------------------------------------------------------------------------
def index_path(output_dir: Path) -> Path:
    import hashlib

    from rompy.runtime.ownership import state_dir

    key = hashlib.sha256(os.path.realpath(output_dir).encode()).hexdigest()[:20]
    return state_dir() / "runs-index" / f"{key}.sqlite"


class _Index:
    """The SQLite cache; every failure of it (locked, read-only, damaged) means reading records instead."""

    def __init__(self, output_dir: Path):
        import sqlite3

        self.sqlite3 = sqlite3
        self.path = index_path(output_dir)
        self.db = None
        try:
            self.db = self._open()
        except (sqlite3.Error, OSError):
            try:  # a damaged file: start again
                self.path.unlink(missing_ok=True)
                self.db = self._open()
            except (sqlite3.Error, OSError):
                self.db = None

    def _open(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self.sqlite3.connect(self.path, timeout=0.5, isolation_level=None)
        if db.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
            db.execute("DROP TABLE IF EXISTS runs")
            db.execute("CREATE TABLE runs (name TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, ino INTEGER,"
                       " status TEXT, started_at TEXT, model TEXT, row TEXT)")
            db.execute(f"PRAGMA user_version = {INDEX_VERSION}")
        return db

    def rows(self) -> dict[str, tuple]:
        if self.db is None:
            return {}
        try:
            return {r[0]: r[1:] for r in self.db.execute(
                "SELECT name, mtime_ns, size, ino, status, started_at, model, row FROM runs")}
        except self.sqlite3.Error:
            return {}

    def update(self, put: list[tuple], gone: list[str]) -> None:
        if self.db is None or not (put or gone):
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", put)
            self.db.executemany("DELETE FROM runs WHERE name = ?", [(name,) for name in gone])
            self.db.execute("COMMIT")
        except self.sqlite3.Error:  # another rompy holds it, or the disk is full: next time, then
            try:
                self.db.execute("ROLLBACK")
            except self.sqlite3.Error:
                pass

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def _record_files(output_dir: Path) -> list[tuple[str, os.stat_result]]:
    """(folder name, stat of its record) for every folder of `output_dir` that holds a record."""
    try:
        entries = list(os.scandir(output_dir))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read the output folder {output_dir}: {exc.strerror or exc}") from None
    found = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            found.append((entry.name, os.stat(os.path.join(entry.path, RECORD_NAME))))
        except OSError:
            continue  # not a run folder (e.g. sweeps/), or a run still claiming its folder
    return found


def _scan(output_dir: Path) -> list[_Entry]:
    """Every record under `output_dir`, from the index where it is current, read again where not."""
    from rompy.record import RecordStore

    index = _Index(output_dir)
    where = output_dir.resolve()
    try:
        cached = index.rows()
        now = time.time_ns()
        entries, put = [], []
        for name, st in _record_files(output_dir):
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            hit = cached.pop(name, None)
            if hit is not None and tuple(hit[:3]) == key and now - st.st_mtime_ns > RACY_NS:
                entries.append(_Entry(name, hit[3], hit[4] or "", hit[5] or "", hit[6]))
                continue
            record = RecordStore(output_dir / name).load()
            if record is None:
                entry = _Entry(name, None, "", "", None)
            else:
                row = RunRow.of(name, where / name, record.as_dict())
                entry = _Entry(name, row.status, row.started_at, row.model, row)
            entries.append(entry)
            if now - st.st_mtime_ns > RACY_NS:
                text = json.dumps(entry.row.to_dict()) if entry.row is not None else None
                put.append((name, *key, entry.status, entry.started_at, entry.model, text))
        index.update(put, gone=list(cached))
    finally:
        index.close()
    return entries


# -- listing --------------------------------------------------------------------------------
@dataclass
class Filters:
    statuses: set[str] = field(default_factory=set)
    since: datetime | None = None  # UTC
    model: str | None = None
    names: set[str] | None = None  # e.g. a sweep's members

    def keep(self, entry: _Entry) -> bool:
        if self.statuses and entry.status not in self.statuses:
            return False
        if self.since is not None and entry.started_at < self.since.strftime("%Y-%m-%dT%H:%M:%S"):
            return False
        if self.model and entry.model != self.model and not entry.model.endswith((f":{self.model}", f".{self.model}")):
            return False
        return self.names is None or entry.name in self.names


def list_runs(output_dir: Path, filters: Filters | None = None, limit: int = 0) -> Listing:
    """The runs under `output_dir` that pass `filters`, oldest first; the newest `limit` (0: all)."""
    filters = filters or Filters()
    entries = _scan(output_dir)
    readable = [e for e in entries if e.status is not None]
    unreadable = sorted(output_dir / e.name / RECORD_NAME for e in entries if e.status is None)
    matched = sorted((e for e in readable if filters.keep(e)), key=lambda e: (e.started_at, e.name))
    counts: dict[str, int] = {}
    for entry in matched:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    shown = matched[-limit:] if limit else matched
    rows = [e.row if isinstance(e.row, RunRow) else RunRow(**json.loads(e.row)) for e in shown]
    return Listing(output_dir, rows, len(matched), len(readable), counts, unreadable)


def run_names(output_dir: Path) -> list[str]:
    """The names of the run folders under `output_dir` (for completion and 'did you mean')."""
    return sorted(name for name, _ in _record_files(output_dir))


def find_run(output_dir: Path, given: str) -> Path:
    """The run folder `given` names: a run id under `output_dir`, a unique prefix of one, or a path."""
    if os.sep in given or given in (".", ".."):
        if (Path(given) / RECORD_NAME).is_file():
            return Path(given)
        raise ConfigError(f"{given} holds no run record ({RECORD_NAME})")
    if (output_dir / given / RECORD_NAME).is_file():
        return output_dir / given
    names = run_names(output_dir)
    starting = [n for n in names if n.startswith(given)]
    if len(starting) == 1:
        return output_dir / starting[0]
    if len(starting) > 1:
        raise ConfigError(f"{given!r} could be {_some(starting)}: give more of the run id")
    raise ConfigError(f"no run {given!r} in {output_dir}{did_you_mean(given, names, 'runs')}")


def did_you_mean(given: str, names: list[str], command: str) -> str:
    """'; nearest: a, b' or a pointer to the listing command."""
    near = difflib.get_close_matches(given, names, n=3, cutoff=0.5)
    if near:
        return f"; nearest: {', '.join(near)}"
    return f" ({len(names)} there; `rompy {command}` lists them)" if names else " (there are none)"


def _some(names: list[str], most: int = 4) -> str:
    return ", ".join(names[:most]) + (f" or {len(names) - most} more" if len(names) > most else "")
