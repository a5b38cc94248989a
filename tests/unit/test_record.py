"""Every run leaves output/<run_id>/ with INPUT, datasets/, outputs/ and a record of what ran."""

from __future__ import annotations

import csv
import json

from tests.helpers.cli import read_record, run_rompy


def test_default_run_of_the_demo_model(workdir):
    proc = run_rompy(cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (workdir / "output").iterdir()
    for name in ("INPUT", "datasets", "outputs", "logs", "rompy-result.json", "rompy-config.yaml"):
        assert (run_dir / name).exists(), name
    rows = list(csv.DictReader(open(run_dir / "outputs/dispersion.csv")))
    assert len(rows) == 6  # 3 default depths x 2 default periods
    record = read_record(run_dir)
    assert record["status"] == "succeeded"
    assert record["exit_code"] == 0 and record["failed_stage"] is None
    assert record["run_id"] == run_dir.name
    for key in ("started_at", "finished_at", "duration_s", "host"):
        assert record[key]
    assert set(record["versions"]) == {"rompy", "python", "hydra"}
    assert record["config"]["backend"]["type"] == "local"
    assert record["config"]["model"]["depths"] == [10.0, 20.0, 50.0]
    assert record["postprocess"]["success"] is True
    assert json.loads((run_dir / "INPUT").read_text())["depths"] == [10.0, 20.0, 50.0]


def test_default_run_ids_are_unique(workdir):
    assert run_rompy(cwd=workdir).returncode == 0
    assert run_rompy(cwd=workdir).returncode == 0
    assert len(list((workdir / "output").iterdir())) == 2


def test_saved_config_reruns_with_a_new_run_id(workdir):
    proc = run_rompy("run_id=first", "model.depths=[7,8]", "backend.cpu=2", "postprocessor=summary", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    first = workdir / "output/first"
    rerun = run_rompy("--config-dir", str(first), "--config-name", "rompy-config", cwd=workdir)
    assert rerun.returncode == 0, rerun.stderr
    runs = sorted(p.name for p in (workdir / "output").iterdir())
    assert len(runs) == 2
    second = workdir / "output" / next(r for r in runs if r != "first")
    rec1, rec2 = read_record(first), read_record(second)
    for key in ("backend", "postprocessor", "model"):
        assert rec1["config"][key] == rec2["config"][key]
    assert (second / "summary.json").exists()


def test_secret_env_values_stay_references_in_the_saved_config(workdir):
    proc = run_rompy("run_id=sec", "+backend.env_vars.API_TOKEN=${oc.env:ROMPY_TEST_SECRET}",
                     "backend.command='test -n \"$API_TOKEN\"'", cwd=workdir,
                     env={"ROMPY_TEST_SECRET": "hunter2-unique-value"})
    assert proc.returncode == 0, proc.stderr
    saved = (workdir / "output/sec/rompy-config.yaml").read_text()
    assert "${oc.env:ROMPY_TEST_SECRET}" in saved
    for path in (workdir / "output/sec").rglob("*"):
        if path.is_file():
            assert "hunter2-unique-value" not in path.read_text(errors="replace"), path


def test_failed_model_marks_the_run_stage(workdir):
    proc = run_rompy("run_id=bad", "backend.command='echo partial > outputs/x.txt; exit 7'", cwd=workdir)
    assert proc.returncode == 1
    record = read_record(workdir / "output/bad")
    assert (record["status"], record["failed_stage"], record["exit_code"]) == ("failed", "run", 7)
    assert record["postprocess"] is None
    assert (workdir / "output/bad/outputs/x.txt").read_text() == "partial\n"


def test_dry_run_creates_nothing_and_prints_the_config(workdir):
    proc = run_rompy("dry_run=true", "backend.cpu=3", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "cpu: 3" in proc.stdout
    assert list(workdir.iterdir()) == []
