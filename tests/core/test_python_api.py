"""rompy's Python API as users write it: ModelRun, TimeRange, run, postprocess, pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from rompy.backends import LocalConfig
from rompy.core.time import TimeRange
from rompy.errors import RunDirectoryExists
from rompy.model import ModelRun


def test_modelrun_defaults_match_rompy():
    run = ModelRun()
    assert run.run_id == "run_id"
    assert str(run.output_dir) == "simulations"
    assert run.run_id_subdir is True and run.delete_existing is False


@pytest.mark.parametrize("text,seconds", [("1H", 3600), ("1h", 3600), ("30min", 1800), ("1D", 86400),
                                          ("15s", 15), ("2w", 1209600), ("0.5h", 1800)])
def test_interval_spellings(text, seconds):
    tr = TimeRange(start=datetime(2023, 1, 1), end=datetime(2023, 1, 2), interval=text)
    assert tr.interval == timedelta(seconds=seconds)


def test_interval_as_timedelta_and_duration():
    tr = TimeRange(start=datetime(2023, 1, 1), duration="1D", interval=timedelta(hours=6))
    assert tr.end == datetime(2023, 1, 2)
    assert len(tr.date_range) == 5
    assert len(TimeRange(start=datetime(2023, 1, 1), duration="1D", interval="6h", include_end=False).date_range) == 4


@pytest.mark.parametrize("text", ["1month", "2mo", "1Y", "P1M"])  # 1M is a minute, as upstream reads it
def test_months_and_years_are_refused_clearly(text):
    with pytest.raises(ValidationError, match="no fixed length"):
        TimeRange(start=datetime(2023, 1, 1), end=datetime(2023, 6, 1), interval=text)


def test_generate_stages_the_run_directory(tmp_path):
    run = ModelRun(run_id="gen", output_dir=tmp_path,
                   period=TimeRange(start=datetime(2023, 1, 1), end=datetime(2023, 1, 2), interval="1H"))
    staged = run.generate()
    assert staged == tmp_path / "gen"
    assert sorted(p.name for p in staged.iterdir()) == sorted(
        ["INPUT", "datasets", "outputs", "logs", "rompy-result.json", "rompy-config.yaml", "wave_dispersion.py"])
    assert '"start": "2023-01-01T00:00:00"' in (staged / "INPUT").read_text()
    assert run.record["status"] == "running"


def test_run_returns_bool_and_generates_when_needed(tmp_path):
    run = ModelRun(run_id="r", output_dir=tmp_path)
    assert run.run(backend=LocalConfig(timeout=60)) is True
    assert (tmp_path / "r/outputs/dispersion.csv").exists()
    fail = ModelRun(run_id="f", output_dir=tmp_path)
    assert fail.run(backend=LocalConfig(timeout=60, command="exit 2")) is False
    assert fail.record["exit_code"] == 2


def test_existing_directory_is_never_touched_without_delete_existing(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x/keep.txt").write_text("keep")
    with pytest.raises(RunDirectoryExists):
        ModelRun(run_id="x", output_dir=tmp_path).generate()
    assert (tmp_path / "x/keep.txt").read_text() == "keep"
    ModelRun(run_id="x", output_dir=tmp_path, delete_existing=True).generate()
    assert not (tmp_path / "x/keep.txt").exists()


class UserProcessor:
    """Written the way rompy users write one: a plain class with process()."""

    def process(self, model_run, **kwargs) -> dict:
        out = model_run.output_dir / model_run.run_id / "outputs"
        return {"success": True, "files": sorted(p.name for p in out.iterdir()), "extra": kwargs.get("extra")}


def test_postprocess_accepts_names_configs_and_plain_objects(tmp_path):
    run = ModelRun(run_id="pp", output_dir=tmp_path)
    run.run(backend=LocalConfig(timeout=60))
    assert run.postprocess(processor="noop")["success"]
    assert run.postprocess(processor="summary")["data"]["file_count"] == 1
    result = run.postprocess(processor=UserProcessor(), extra=42)
    assert result == {"success": True, "files": ["dispersion.csv"], "extra": 42}
    assert UserProcessor().process(run)["files"] == ["dispersion.csv"]  # called directly too


def test_pipeline_reports_stages_and_failure(tmp_path):
    ok = ModelRun(run_id="ok", output_dir=tmp_path).pipeline(
        pipeline_backend="local", backend_config=LocalConfig(timeout=60), processor="summary")
    assert ok["success"] is True
    assert ok["stages_completed"] == ["generate", "run", "postprocess"]
    assert ok["postprocess"]["data"]["file_count"] == 1

    class Rejects:
        def process(self, model_run, **kwargs):
            return {"success": False, "message": "no"}

    bad = ModelRun(run_id="bad", output_dir=tmp_path).pipeline(backend_config=LocalConfig(timeout=60),
                                                               processor=Rejects())
    assert bad["success"] is False
    assert bad["stages_completed"] == ["generate", "run"]

    failed_run = ModelRun(run_id="failrun", output_dir=tmp_path).pipeline(
        backend_config=LocalConfig(timeout=60, command="exit 9"))
    assert failed_run["success"] is False and failed_run["stages_completed"] == ["generate"]


def test_processor_exception_is_a_failed_result_not_a_crash(tmp_path):
    class Boom:
        def process(self, model_run, **kwargs):
            raise RuntimeError("kaboom")

    run = ModelRun(run_id="boom", output_dir=tmp_path)
    run.run(backend=LocalConfig(timeout=60))
    result = run.postprocess(processor=Boom())
    assert result["success"] is False and "kaboom" in result["message"]
    assert run.record["failed_stage"] == "postprocess"


def test_cli_and_api_produce_the_same_record(tmp_path, monkeypatch):
    """One run path: the same config through the CLI and the API gives the same record."""
    from rompy.demo import DemoModelConfig
    from rompy.postprocess.summary import SummaryConfig
    from tests.helpers.cli import read_record, run_rompy

    proc = run_rompy("run_id=cli", f"output_dir={tmp_path}", "model.depths=[12]", "postprocessor=summary",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    api = ModelRun(run_id="api", output_dir=tmp_path, config=DemoModelConfig(depths=[12]))
    api.pipeline(backend_config=LocalConfig(), processor=SummaryConfig())
    cli_rec, api_rec = read_record(tmp_path / "cli"), read_record(tmp_path / "api")
    for key in ("backend", "postprocessor", "model"):
        assert cli_rec["config"][key] == api_rec["config"][key]
    assert cli_rec["postprocess"]["data"]["files"] == api_rec["postprocess"]["data"]["files"]
    assert cli_rec["status"] == api_rec["status"] == "succeeded"
