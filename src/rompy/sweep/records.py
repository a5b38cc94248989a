"""What a sweep writes, and what a resumed sweep reads back.

`results.jsonl` is append-only and written as each member finishes, one `write()` of
one whole line, so a crashed sweep loses nothing already done and a resumed sweep can
read what earlier runs finished. `summary.json` is written atomically once the sweep
ends (also on interrupt). Resume matches members by key (a hash of their overrides),
not by number, so adding a value to a sweep does not shift which members count as done;
a member is done if its latest line says it succeeded and its run record still does.
"""

from __future__ import annotations

import json
import os
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

RESULTS_NAME = "results.jsonl"
SUMMARY_NAME = "summary.json"

#: Statuses of a line in results.jsonl. `not_run` appears only in summary.json:
#: members a fail-fast stop or an interrupt never started.
STATUSES = ("succeeded", "failed", "timed_out", "interrupted", "skipped")
FAILED_STATUSES = ("failed", "timed_out", "interrupted")
TABLE_ORDER = ("failed", "timed_out", "interrupted", "not_run", "succeeded", "skipped")


@dataclass
class MemberResult:
    """How one member ended.

    `exit_code` is what `rompy` would have exited with for this member alone
    (0, 1, 2, 130, 143); `model_exit_code` is the model command's own code, if it ran.
    """

    status: str
    exit_code: int | None
    message: str = ""
    model_exit_code: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    run_dir: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # what the member's postprocessor recorded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MemberResult":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def member_line(job, result: MemberResult, launcher: str, sweep_id: str,
                previous: dict[str, Any] | None = None) -> dict[str, Any]:
    line = {
        "member": job.number,
        "key": job.key,
        "run_id": job.run_id,
        "overrides": job.overrides,
        "status": result.status,
        "exit_code": result.exit_code,
        "model_exit_code": result.model_exit_code,
        "message": result.message,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "duration_s": result.duration_s,
        "run_dir": result.run_dir,
        "launcher": launcher,
        "sweep_id": sweep_id,
    }
    if result.details:
        line["details"] = result.details
    if result.metrics:
        line["metrics"] = result.metrics
    if previous is not None:
        line["previous"] = previous
    return line


class ResultsFile:
    """results.jsonl: append one line per member as it finishes, and read a line back by its offset.

    The sweep keeps only each member's offset, not its line: memory stays flat however
    many members a sweep has.
    """

    def __init__(self, sweep_dir: Path):
        self.path = Path(sweep_dir) / RESULTS_NAME

    def append(self, line: dict[str, Any]) -> int:
        """Append `line`; returns the offset where it starts."""
        data = (json.dumps(line, default=str, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            os.write(fd, data)
            return os.lseek(fd, 0, os.SEEK_CUR) - len(data)
        finally:
            os.close(fd)

    def line_at(self, offset: int) -> dict[str, Any]:
        """The line that starts at `offset` (one that append returned)."""
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            return json.loads(fh.readline())

    def lines_at(self, offsets: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The lines at `offsets`, in that order, through one open file."""
        with open(self.path, "rb") as fh:
            for offset in offsets:
                fh.seek(offset)
                yield json.loads(fh.readline())

    def read(self) -> list[dict[str, Any]]:
        """All complete lines; a torn last line (a crash mid-write) is ignored."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        lines = []
        for raw in text.splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
        return lines


class EndedMembers:
    """Each ended member's status and the offset of its results line, by member number.

    Two arrays of nine bytes a member rather than a dict of tuples (about 150 bytes a member):
    the sweep holds it for every member until it ends, so it counts in a large ensemble's peak memory.
    """

    def __init__(self, numbers: range):
        self._numbers = numbers
        self._names: list[str] = list(STATUSES)  # a status's code is its place here, plus one
        self._codes = bytearray(len(numbers))  # 0: not ended
        self._offsets = array("q", bytes(8 * len(numbers)))

    def add(self, number: int, status: str, offset: int) -> None:
        if status not in self._names:
            self._names.append(status)
        at = self._numbers.index(number)
        self._codes[at] = self._names.index(status) + 1
        self._offsets[at] = offset

    def __contains__(self, number: int) -> bool:
        return number in self._numbers and self._codes[self._numbers.index(number)] != 0

    def status(self, number: int) -> str:
        """How the member ended; `not_run` for one that did not."""
        code = self._codes[self._numbers.index(number)] if number in self._numbers else 0
        return self._names[code - 1] if code else "not_run"

    def offset(self, number: int) -> int:
        """Where the member's line starts in results.jsonl (it must have ended)."""
        return self._offsets[self._numbers.index(number)]


def counts_of(statuses: Iterable[str]) -> dict[str, int]:
    counts = {status: 0 for status in (*STATUSES, "not_run")}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def write_summary(sweep_dir: Path, summary: dict[str, Any], members: Iterable[dict[str, Any]]) -> Path:
    """summary.json: `summary`'s keys, then "members", written one member at a time (atomically)."""
    from rompy.runtime.files import write_chunks_atomic

    def chunks() -> Iterator[str]:
        yield "{\n"
        for key, value in summary.items():
            yield f"  {json.dumps(key)}: {json.dumps(value, default=str)},\n"
        yield '  "members": ['
        separator = "\n    "
        for member in members:
            yield separator + json.dumps(member, default=str)
            separator = ",\n    "
        yield "\n  ]\n}\n"

    path = Path(sweep_dir) / SUMMARY_NAME
    write_chunks_atomic(path, chunks())
    return path


def read_summary(sweep_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(sweep_dir) / SUMMARY_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- resume --------------------------------------------------------------------------
MULTIRUN_NAME = "multirun.yaml"  # the sweep's composed config, saved when it starts


def sweep_identity(hydra_node: dict[str, Any]) -> str:
    """What makes two sweeps the same sweep: their members' overrides (not how they run)."""
    from rompy.sweep.plan import identity

    task = [str(o) for o in ((hydra_node.get("overrides") or {}).get("task") or [])]
    params = (hydra_node.get("sweeper") or {}).get("params") or {}
    return json.dumps([sorted(identity(task)), params], sort_keys=True, default=str)


def latest_sweep_like(root: Path, wanted: str) -> Path | None:
    """The most recently started sweep folder under `root` whose identity is `wanted`."""
    import yaml

    found: list[tuple[float, Path]] = []
    try:
        folders = [entry for entry in os.scandir(root) if entry.is_dir()]
    except OSError:
        return None
    for folder in folders:
        path = Path(folder.path) / MULTIRUN_NAME
        try:
            saved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            started = path.stat().st_mtime
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(saved, dict) and sweep_identity(saved.get("hydra") or {}) == wanted:
            found.append((started, Path(folder.path)))
    return max(found)[1] if found else None


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


def success_in_record(run_dir: str | None) -> dict[str, Any] | None:
    """A member whose run record says it succeeded, though no line says so: done.

    The sweep that ran it stopped before it heard (a SIGTERM while the member's last
    seconds ran on a cluster node, a crash): running it again would run a success twice.
    """
    from rompy.record import RecordStore

    record = RecordStore(run_dir).load() if run_dir else None
    if record is None or record.status != "succeeded" or record.postprocess is None:
        return None  # a member always postprocesses: without it, it was stopped before the end
    data = record.as_dict()
    return {"status": "succeeded", "exit_code": 0, "model_exit_code": data.get("exit_code"),
            "started_at": data.get("started_at"), "finished_at": data.get("finished_at"),
            "duration_s": data.get("duration_s"), "run_dir": run_dir, "run_id": data.get("run_id"), "launcher": None}


def _record_says_succeeded(run_dir: str | None) -> bool:
    from rompy.record import RecordStore

    return bool(run_dir) and RecordStore(run_dir).status() == "succeeded"
