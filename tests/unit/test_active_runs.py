"""The active-run registry cleans up after a killed rompy through the backend's own reaper, by name only."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from rompy.record import RecordStore, RunRecord
from rompy.runtime import active_runs
from rompy.runtime.ownership import owner_labels


@pytest.fixture
def dead_owner() -> dict:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return owner_labels(proc.pid) | {"rompy.owner_start": "1"}  # gone: its start time cannot match


def _leftover(tmp_path, name: str, owner: dict, reaper: str | None, notes: dict) -> RecordStore:
    run_dir = tmp_path / name
    run_dir.mkdir()
    store = RecordStore(run_dir)
    store.save(RunRecord(run_id=name, stage="run", run_dir=str(run_dir)))
    entry = active_runs.register(f"token-{name}", store.path, reaper=reaper)
    data = json.loads(entry.read_text())
    data.update(owner=owner, notes=notes)
    entry.write_text(json.dumps(data))
    return store


def test_a_dead_runs_reaper_is_called_with_its_notes_and_its_record_settled(tmp_path, monkeypatch, dead_owner):
    (tmp_path / "my_backend_reaper.py").write_text(textwrap.dedent("""
        CALLS = []

        def reap(notes):
            CALLS.append(notes)
            return f"; job {notes['job']} stopped"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    store = _leftover(tmp_path, "killed", dead_owner, "my_backend_reaper:reap", {"job": "42"})
    live = _leftover(tmp_path, "alive", owner_labels(), "my_backend_reaper:reap", {"job": "43"})

    assert active_runs.reap() == 1
    import my_backend_reaper

    assert my_backend_reaper.CALLS == [{"job": "42"}], "only the dead run's reaper, with its notes"
    record = store.load()
    assert record.status == "interrupted" and record.message.endswith("; job 42 stopped")
    assert record.backend == {"status": "interrupted", "details": {"job": "42"}}
    assert live.load().status == "running", "a live owner's run is never touched"
    assert [p.name for p in active_runs.registry_dir().glob("*.json")] == ["token-alive.json"]


def test_a_broken_reaper_does_not_stop_the_cleanup(tmp_path, dead_owner):
    store = _leftover(tmp_path, "killed", dead_owner, "no_such_module:reap", {})
    active_runs.clean_up_leftovers()
    record = store.load()
    assert record.status == "interrupted" and "its backend's cleanup failed" in record.message


def test_an_unwritable_registry_is_a_preflight_error(tmp_path, monkeypatch):
    from rompy.errors import PreflightError

    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("ROMPY_STATE_DIR", str(tmp_path / "a-file" / "state"))
    with pytest.raises(PreflightError, match="ROMPY_STATE_DIR: .* is not a directory"):
        active_runs.check_writable()
