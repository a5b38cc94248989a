"""The run record: what ran, how it ended, and the one store every writer goes through.

Each run directory holds `rompy-result.json`. The run writes it at each stage; a later
rompy marks it `interrupted` when the run's rompy was killed; a sweep settles it when a
member escaped its task. All of them read and write it here, atomically, so a reader
never sees half a record and fields nobody set are never lost.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rompy.core.time import utcnow
from rompy.runtime.files import overwrite_in_place, write_json_atomic

log = logging.getLogger("rompy")

RECORD_NAME = "rompy-result.json"

Status = Literal["running", "succeeded", "failed", "timed_out", "interrupted"]
ESSENTIALS = ("run_id", "status", "failed_stage", "exit_code", "message", "started_at", "finished_at")


class RunRecord(BaseModel):
    """One run's record. Keys this rompy does not know (from a newer one) are kept as they are."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    run_id: str
    status: Status = "running"
    stage: str = "generate"
    failed_stage: str | None = None
    exit_code: int | None = None
    message: str = ""
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    duration_s: float | None = None
    run_dir: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    host: str = ""
    pid: int | None = None
    inputs: list[dict[str, Any]] = Field(default_factory=list)  # what the model staged, with checksums
    backend: dict[str, Any] | None = None
    postprocess: dict[str, Any] | None = None
    metrics: dict[str, float] = Field(default_factory=dict)  # named numbers a postprocessor recorded

    def finish(self, status: str, failed_stage: str | None = None, message: str = "",
               finished_at: datetime | None = None) -> None:
        """End the record: status, where it failed, why, and when."""
        finished = finished_at or utcnow()
        self.status, self.failed_stage, self.message = status, failed_stage, message
        self.finished_at = finished
        self.duration_s = round((finished - self.started_at).total_seconds(), 6)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RecordStore:
    """`<run_dir>/rompy-result.json`: load it, save it atomically, and end it from outside the run."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / RECORD_NAME

    def load(self) -> RunRecord | None:
        """The record, or None if there is none or it cannot be read (half written by an older rompy, damaged)."""
        try:
            return RunRecord.model_validate(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def save(self, record: RunRecord, durable: bool | None = None) -> None:
        """Replace the record atomically; on a full disk, overwrite the old one in place with its essentials.

        Only how a run ended is synced to disk (unless `durable` says otherwise): a `running`
        record lost in a power cut reads as a run that never got a record, which is what the
        run became anyway.
        """
        data = record.as_dict()
        try:
            write_json_atomic(self.path, data, durable=record.status != "running" if durable is None else durable)
        except OSError as exc:
            essentials = {key: data.get(key) for key in ESSENTIALS}
            essentials["record_error"] = exc.strerror or str(exc)
            if overwrite_in_place(self.path, essentials):
                log.error("disk full: wrote a shortened run record to %s", self.path)
            else:
                log.error("cannot write the run record %s: %s", self.path, exc.strerror or exc)

    def mark_interrupted(self, message: str, notes: dict[str, Any] | None = None) -> RunRecord | None:
        """A run still `running` whose rompy is gone: say so. The record, or None if it was not running."""
        record = self.load()
        if record is None or record.status != "running":
            return None
        record.finish("interrupted", record.stage or "run", message)
        if notes:
            record.backend = {"status": "interrupted", "details": notes}
        self.save(record)
        return record

    def settle(self, status: str, message: str, finished_at: datetime | str | None = None) -> None:
        """A sweep member that escaped its task (SystemExit, a crash) left its record running or
        claiming success: make it say how the member ended."""
        record = self.load()
        if record is None or record.status not in ("running", "succeeded"):
            return
        stage = record.stage if record.status == "running" else "postprocess"
        when = datetime.fromisoformat(finished_at) if isinstance(finished_at, str) else finished_at
        record.finish(status, stage, message, when)
        self.save(record)

    def reword_interruption(self, message: str) -> None:
        """Replace the message of an `interrupted` record (e.g. to say the sweep's process died)."""
        record = self.load()
        if record is not None and record.status == "interrupted":
            record.message = message
            self.save(record)

    def status(self) -> str | None:
        record = self.load()
        return None if record is None else record.status
