"""Built-in postprocessors on real run outputs."""

from __future__ import annotations

import csv
import json
import logging
import tarfile
import zipfile

import pytest

from rompy.backends import LocalConfig
from rompy.model import ModelRun
from rompy.postprocess.archive import ArchiveConfig
from rompy.postprocess.summary import SummaryConfig


@pytest.fixture
def finished_run(tmp_path):
    run = ModelRun(run_id="pp", output_dir=tmp_path)
    assert run.run(backend=LocalConfig(timeout=60))
    (run.outputs_dir / "nested").mkdir()
    (run.outputs_dir / "nested" / "notes.txt").write_text("hello\n")
    return run


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_archive_contains_exactly_the_outputs(finished_run, fmt):
    result = finished_run.postprocess(processor=ArchiveConfig(format=fmt))
    assert result["success"], result
    archive = finished_run.run_dir / f"pp-outputs.{fmt}"
    assert result["data"]["archive"] == str(archive)
    if fmt == "zip":
        with zipfile.ZipFile(archive) as zf:
            names = sorted(zf.namelist())
            csv_bytes = zf.read("outputs/dispersion.csv")
    else:
        with tarfile.open(archive) as tf:
            names = sorted(m.name for m in tf.getmembers() if m.isfile())
            csv_bytes = tf.extractfile("outputs/dispersion.csv").read()
    assert names == ["outputs/dispersion.csv", "outputs/nested/notes.txt"]
    assert csv_bytes == (finished_run.outputs_dir / "dispersion.csv").read_bytes()


def test_archive_remove_outputs(finished_run):
    result = finished_run.postprocess(processor=ArchiveConfig(remove_outputs=True))
    assert result["success"]
    assert not (finished_run.outputs_dir / "dispersion.csv").exists()


def test_summary_reports_counts_sizes_and_column_ranges(finished_run):
    result = finished_run.postprocess(processor=SummaryConfig())
    assert result["success"]
    report = json.loads((finished_run.run_dir / "summary.json").read_text())
    assert report["file_count"] == 2
    csv_path = finished_run.outputs_dir / "dispersion.csv"
    assert report["files"]["dispersion.csv"]["bytes"] == csv_path.stat().st_size
    rows = list(csv.DictReader(open(csv_path)))
    lengths = [float(r["wavelength_m"]) for r in rows]
    columns = report["files"]["dispersion.csv"]["columns"]
    assert columns["wavelength_m"] == {"min": min(lengths), "max": max(lengths)}
    assert columns["depth_m"] == {"min": 10.0, "max": 50.0}
    assert report["total_bytes"] == csv_path.stat().st_size + 6


def test_archive_without_outputs_fails(tmp_path):
    run = ModelRun(run_id="empty", output_dir=tmp_path)
    run.generate()
    run.outputs_dir.rmdir()
    result = run.postprocess(processor="archive")
    assert result["success"] is False
    assert run.record["status"] == "failed" and run.record["failed_stage"] == "postprocess"


def test_metrics_a_postprocessor_returns_go_into_the_record(finished_run, caplog):
    class Scores:
        def process(self, model_run, **kwargs):
            return {"success": True, "metrics": {"transport_sv": 132.4, "cells": 7, "bad": "n/a",
                                                 "nan": float("nan"), "flag": True}}

    logger = logging.getLogger("rompy")  # rompy's console logging may have stopped propagation
    logger.addHandler(caplog.handler)
    try:
        result = finished_run.postprocess(processor=Scores())
    finally:
        logger.removeHandler(caplog.handler)
    assert result["success"]
    assert finished_run.record["metrics"] == {"transport_sv": 132.4, "cells": 7.0}
    assert finished_run.record["status"] == "succeeded", "a bad metric is not the run's failure"
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "metrics.bad: 'n/a' is not a finite number" in warned and "metrics.flag" in warned


def test_summary_records_its_figures_as_metrics(finished_run):
    finished_run.postprocess(processor=SummaryConfig())
    metrics = finished_run.record["metrics"]
    rows = list(csv.DictReader(open(finished_run.outputs_dir / "dispersion.csv")))
    assert metrics["file_count"] == 2
    assert metrics["dispersion.wavelength_m.max"] == max(float(r["wavelength_m"]) for r in rows)
    assert metrics["dispersion.depth_m.min"] == min(float(r["depth_m"]) for r in rows)


def _saved_statuses(monkeypatch) -> list[str]:
    """The status of the record at each write of it to disk."""
    from rompy.record import RecordStore

    statuses, save = [], RecordStore.save

    def counting_save(self, record, *args, **kwargs):
        statuses.append(record.status)
        return save(self, record, *args, **kwargs)

    monkeypatch.setattr(RecordStore, "save", counting_save)
    return statuses


def test_with_the_noop_postprocessor_a_run_s_end_is_written_once(tmp_path, monkeypatch):
    """noop only looks at the run: the record is written as the model starts, then once at the end."""
    import os

    statuses = _saved_statuses(monkeypatch)
    synced, fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")) or fsync(fd))
    run = ModelRun(run_id="quick", output_dir=tmp_path)
    outcome = run.pipeline(backend_config=LocalConfig(timeout=60))
    assert outcome["success"], outcome
    assert statuses == ["running", "succeeded"]
    assert len(synced) == 1, "only how the run ended is synced to disk"
    record = json.loads((run.run_dir / "rompy-result.json").read_text())
    assert record["status"] == "succeeded" and record["postprocess"]["data"]["outputs"] == ["dispersion.csv"]


def test_while_a_postprocessor_works_the_record_already_says_how_the_model_ended(tmp_path, monkeypatch):
    statuses = _saved_statuses(monkeypatch)
    seen = []

    class Reader:
        def process(self, model_run, **kwargs):
            seen.append(json.loads((model_run.run_dir / "rompy-result.json").read_text())["status"])
            return {"success": True}

    run = ModelRun(run_id="slow", output_dir=tmp_path)
    assert run.pipeline(backend_config=LocalConfig(timeout=60), processor=Reader())["success"]
    assert seen == ["succeeded"]
    assert statuses == ["running", "succeeded", "succeeded"]


def test_a_quick_postprocessor_that_breaks_before_its_result_leaves_the_model_s_end_recorded(tmp_path):
    """The run's end waits for the quick postprocessor's result; if none comes, it is written anyway."""

    class Broken:
        quick = True

        def model_dump(self, **kwargs):
            raise RuntimeError("cannot describe myself")

        def process(self, model_run, **kwargs):  # pragma: no cover - never reached
            return {"success": True}

    run = ModelRun(run_id="broken", output_dir=tmp_path)
    with pytest.raises(RuntimeError, match="cannot describe myself"):
        run.pipeline(backend_config=LocalConfig(timeout=60), processor=Broken())
    record = json.loads((run.run_dir / "rompy-result.json").read_text())
    assert record["status"] == "succeeded" and record["exit_code"] == 0
