"""Runs in progress, so that the next rompy can clean up after a SIGKILLed one.

A SIGKILLed rompy cannot stop its model or finish its record. Before a backend
starts, rompy writes a small entry naming the run's record, its process token
and its owner (host, pid and the pid's start time). The entry is removed when
the run ends; a backend adds what it started elsewhere (`Job.note`, e.g. the
SLURM job id). At every start rompy looks at the entries whose owner is gone:
it scancels the noted SLURM job, kills the processes still carrying that run's
token, marks the record `interrupted`, and removes the entry. Entries of live
owners are never touched.
Standard library only: this runs at every start and must stay cheap.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from datetime import datetime, timezone
from pathlib import Path

from rompy.backends.docker_owner import LABEL_PID, is_orphan, owner_labels
from rompy.backends.docker_owner import state_dir as _state_root

log = logging.getLogger("rompy.active_runs")


def state_dir() -> Path:
    return _state_root() / "active"


def check_writable() -> None:
    """PreflightError if runs cannot be registered (the state folder cannot be written)."""
    from rompy.errors import PreflightError
    from rompy.paths import creatable_problem

    problem = creatable_problem(state_dir())
    if problem:
        raise PreflightError(f"ROMPY_STATE_DIR: rompy notes its running runs there and {problem}; "
                             "set ROMPY_STATE_DIR (or XDG_STATE_HOME) to a folder you can write")


def register(token: str, record_path: Path) -> Path:
    """Note that this process runs the model of `record_path` under `token`."""
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    entry = folder / f"{token}.json"
    _write_entry(entry, {"token": token, "record": str(Path(record_path).resolve()), "owner": owner_labels()})
    return entry


def _write_entry(entry: Path, data: dict) -> None:
    """Readers (the reaper of another rompy) see the old entry or the new one, never half of one."""
    tmp = entry.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, entry)


def note(token: str, **facts) -> None:
    """Add facts to a registered run's entry (atomically); nothing if it is not registered."""
    entry = state_dir() / f"{token}.json"
    try:
        data = json.loads(entry.read_text())
    except (OSError, ValueError):
        return
    data.setdefault("notes", {}).update(facts)
    _write_entry(entry, data)


def unregister(entry: Path) -> None:
    try:
        entry.unlink()
    except FileNotFoundError:
        pass


def reap(owner_pid: int | None = None) -> int:
    """Clean up after runs whose rompy died; returns how many were reaped.

    With `owner_pid`, only the runs of that (dead) process: a parallel sweep cleans up
    after one killed worker without touching the records of others it has yet to settle.
    """
    folder = state_dir()
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(".json")]
    except FileNotFoundError:
        return 0
    reaped = 0
    for item in entries:
        try:
            data = json.loads(Path(item.path).read_text())
        except (OSError, ValueError):
            continue
        owner = data.get("owner", {})
        if owner_pid is not None and owner.get(LABEL_PID) != str(owner_pid):
            continue
        if not is_orphan(owner):
            continue
        notes = data.get("notes") or {}
        cancelled = _cancel_slurm_job(notes.get("slurm_job_id"))  # first: the cluster's own way
        _kill_token_holders(data.get("token", ""))
        _mark_interrupted(Path(data.get("record", "")), notes, cancelled)
        unregister(Path(item.path))
        reaped += 1
    return reaped


def clean_up_leftovers(owner_pid: int | None = None) -> None:
    """Everything killed rompy processes left: their runs (see `reap`) and their containers.

    Best effort: called at every start and when a sweep worker dies, it must never fail them.
    """
    try:
        reap(owner_pid)
    except Exception as exc:  # noqa: BLE001 - best effort by design
        log.debug("cleaning up the runs of killed rompy processes: %s", exc)
    try:
        from rompy.backends.docker_reaper import reap_orphans

        reap_orphans()
    except Exception as exc:  # noqa: BLE001 - best effort by design
        log.debug("removing the containers of killed rompy processes: %s", exc)


def _kill_token_holders(token: str) -> None:
    if not token:
        return
    from rompy.backends.process import processes_with_token

    for pid in processes_with_token(token):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _cancel_slurm_job(job_id) -> str:
    """scancel the job a killed rompy submitted; a phrase for the record ('' if none)."""
    if not job_id:
        return ""
    import shutil
    import subprocess

    if shutil.which("scancel") is None:
        return f"; its SLURM job {job_id} could not be cancelled here (no scancel)"
    try:
        proc = subprocess.run(["scancel", str(job_id)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"; scancel {job_id} failed: {exc}"
    if proc.returncode != 0:
        return f"; scancel {job_id} failed: {proc.stderr.strip()[:200]}"
    log.warning("cancelled SLURM job %s of a killed rompy", job_id)
    return f"; SLURM job {job_id} cancelled"


def _mark_interrupted(record_path: Path, notes: dict | None = None, cancelled: str = "") -> None:
    from rompy.results import write_json_atomic

    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return
    if record.get("status") != "running":
        return
    now = datetime.now(timezone.utc)
    record.update(status="interrupted", failed_stage=record.get("stage") or "run",
                  message=f"rompy was killed; cleaned up by a later rompy start{cancelled}",
                  finished_at=now.isoformat())
    if notes:
        record["backend"] = {"status": "interrupted", "details": notes}
    try:
        started = datetime.fromisoformat(record["started_at"])
        record["duration_s"] = round((now - started).total_seconds(), 6)
    except (KeyError, ValueError):
        pass
    write_json_atomic(record_path, record)
    log.warning("run %s was left running by a killed rompy: cleaned up", record.get("run_id"))
