"""Runs in progress, so that the next rompy cleans up after a SIGKILLed one.

A SIGKILLed rompy cannot stop its model or finish its record. Before a backend starts,
the run writes an entry here: its record, its process token, its owner (host, pid and
the pid's start time), and the backend's reaper (`package.module:function`). A backend
adds what it started elsewhere (the SLURM job id) as notes. The entry goes when the run
ends. At every start rompy looks at the entries whose owner is gone: it calls their
reaper with the notes, kills the processes still carrying the run's token, marks the
record `interrupted` and removes the entry. Entries of live owners are never touched.
Standard library only, and nothing imported unless an entry needs it: this runs at
every start.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

from rompy.runtime.ownership import LABEL_PID, is_orphan, owner_labels, state_dir

log = logging.getLogger("rompy.runtime")


def registry_dir() -> Path:
    return state_dir() / "active"


def check_writable() -> None:
    """PreflightError if runs cannot be registered (the state folder cannot be written)."""
    from rompy.errors import PreflightError
    from rompy.runtime.files import creatable_problem

    problem = creatable_problem(registry_dir())
    if problem:
        raise PreflightError(f"ROMPY_STATE_DIR: rompy notes its running runs there and {problem}; "
                             "set ROMPY_STATE_DIR (or XDG_STATE_HOME) to a folder you can write")


def register(token: str, record_path: Path, reaper: str | None = None) -> Path:
    """Note that this process runs the model of `record_path` under `token`."""
    folder = registry_dir()
    folder.mkdir(parents=True, exist_ok=True)
    entry = folder / f"{token}.json"
    record_path = Path(record_path)
    record_path = record_path if record_path.is_absolute() else record_path.resolve()
    _write_entry(entry, {"token": token, "record": str(record_path), "owner": owner_labels(),
                         "reaper": reaper})
    return entry


def _write_entry(entry: Path, data: dict) -> None:
    """Readers (the reaper of another rompy) see the old entry or the new one, never half of one."""
    tmp = entry.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, entry)


def note(token: str, **facts: Any) -> None:
    """Add facts to a registered run's entry (atomically); nothing if it is not registered."""
    entry = registry_dir() / f"{token}.json"
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
    try:
        entries = [e for e in os.scandir(registry_dir()) if e.name.endswith(".json")]
    except FileNotFoundError:
        return 0
    reaped = 0
    reapers_called: dict[str, str] = {}
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
        reaper = data.get("reaper")
        if reaper and (notes or reaper not in reapers_called):  # a notes-free reaper cleans up for all at once
            reapers_called[reaper] = _call_reaper(reaper, notes)
        _kill_token_holders(data.get("token", ""))
        from rompy.record import RecordStore

        record = RecordStore(Path(data.get("record", "")).parent).mark_interrupted(
            f"rompy was killed; cleaned up by a later rompy start{reapers_called.get(reaper, '')}", notes)
        if record is not None:
            log.warning("run %s was left running by a killed rompy: cleaned up", record.run_id)
        unregister(Path(item.path))
        reaped += 1
    return reaped


def clean_up_leftovers(owner_pid: int | None = None) -> None:
    """Everything killed rompy processes of this registry left (see `reap`).

    Best effort: called at every start and when a sweep worker dies, it must never fail them.
    """
    try:
        reap(owner_pid)
    except Exception as exc:  # noqa: BLE001 - best effort by design
        log.debug("cleaning up the runs of killed rompy processes: %s", exc)


def _call_reaper(path: str, notes: dict[str, Any]) -> str:
    """Call a backend's reaper; its phrase for the record ('' if it had nothing to say or failed)."""
    import importlib

    module_name, _, function = path.partition(":")
    try:
        return getattr(importlib.import_module(module_name), function)(notes) or ""
    except Exception as exc:  # noqa: BLE001 - a broken reaper must not stop the others
        log.debug("reaper %s: %s", path, exc)
        return f"; its backend's cleanup failed: {exc}"


def _kill_token_holders(token: str) -> None:
    if not token:
        return
    from rompy.runtime.processes import processes_with_token

    for pid in processes_with_token(token):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
