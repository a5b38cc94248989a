"""A plain run composes once and runs the job itself (rompy.cli.compose); what Hydra users
rely on inside a job must still hold there: `${hydra:...}`, `hydra.job.env_set`,
`hydra.job.chdir`. And the in-process CLI leaves the interpreter's collector as it was."""

from __future__ import annotations

import gc

from tests.helpers.cli import read_record, run_rompy

from rompy.cli import run_cli


def test_hydra_resolver_sees_the_job(workdir):
    proc = run_rompy("run_id=${hydra:job.name}-${hydra:runtime.choices.backend}", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert read_record(workdir / "output" / "rompy-local")["status"] == "succeeded"


def test_env_set_reaches_the_model(workdir):
    proc = run_rompy("run_id=env", "+hydra.job.env_set.ROMPY_TEST_VALUE=from-hydra",
                     "backend.command='echo $ROMPY_TEST_VALUE > outputs/value.txt'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output/env/outputs/value.txt").read_text().strip() == "from-hydra"


def test_chdir_true_runs_inside_hydra_run_dir(workdir):
    proc = run_rompy("run_id=moved", "hydra.job.chdir=true", "hydra.run.dir=jobdir", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert read_record(workdir / "jobdir/output/moved")["status"] == "succeeded"
    assert not (workdir / "output").exists()


def test_output_subdir_saves_hydra_files(workdir):
    proc = run_rompy("run_id=saved", "hydra.output_subdir=.hydra", "hydra.run.dir=hydra-files", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (workdir / "hydra-files/.hydra").iterdir()} == {
        "config.yaml", "hydra.yaml", "overrides.yaml"}


def test_in_process_cli_leaves_the_collector_as_found(workdir, capsys):
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert run_cli(["run_id=gc-ok"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert run_cli(["backend.timeout=5"]) == 2  # fails validation, before the collector resumes
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        assert run_cli(["run_id=gc-off"]) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
