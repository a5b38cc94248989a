"""Typed results of a backend run and of a postprocessor, and the atomic JSON writer."""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["running", "succeeded", "failed", "timed_out", "interrupted"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class BackendResult(BaseModel):
    """What a backend reports after running the model command."""

    model_config = ConfigDict(defer_build=True)

    status: Status
    exit_code: int | None = None
    started_at: datetime
    finished_at: datetime
    duration_s: float
    message: str = ""
    logs: dict[str, str] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


class PostprocessResult(BaseModel):
    """What a built-in postprocessor returns; user processors may return a plain dict."""

    model_config = ConfigDict(defer_build=True)

    success: bool = True
    message: str = ""
    files: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path = Path(path)
    # Not mkstemp: its 0600 would make records unreadable to colleagues; 0666 minus the umask
    # gives the file the same permissions as everything else the run writes.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
