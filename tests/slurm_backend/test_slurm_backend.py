"""backend=slurm on the real one-node cluster (scripts/services/slurm.sh): runs, failures, timeouts, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import REPO, kill_on_exit
from tests.helpers.processes import processes_matching, unique_sleep
from tests.helpers.slurm import Run, running_job, sacct, sacct_eventually, squeue_ids, wait_gone, wait_sacct

pytestmark = pytest.mark.slurm


def test_demo_model_end_to_end(slurm_run: Run, slurm_cluster):
    proc = slurm_run.run("backend.queue=debug", "backend.time_limit=00:10:00", "backend.timeout=600")
    assert proc.returncode == 0, proc.stderr
    assert (slurm_run.run_dir / "outputs" / "dispersion.csv").is_file()
    record = slurm_run.record()
    assert record["status"] == "succeeded" and record["exit_code"] == 0
    backend = record["backend"]
    details = backend["details"]
    assert details["slurm_job_id"].isdigit() and details["partition"] == "debug"
    assert details["slurm_state"] == "COMPLETED" and details["job_name"] == slurm_run.job_name
    assert record["config"]["backend"]["type"] == "slurm"
    # The job ran the model through the process-group runner in the run directory: its logs are there,
    # and the submitting rompy streamed them to its console.
    stdout_log = (slurm_run.run_dir / "logs" / "stdout.log").read_text()
    assert "wrote 6 rows to outputs/dispersion.csv" in stdout_log
    assert "wrote 6 rows to outputs/dispersion.csv" in proc.stdout
    assert f"submitted SLURM job {details['slurm_job_id']}" in proc.stderr
    assert Path(details["slurm_log"]).is_file()
    assert details["slurm_job_id"] not in squeue_ids()
    assert sacct_eventually(details["slurm_job_id"], "JobName", slurm_run.job_name)
    assert "wrote 6 rows" not in Path(details["slurm_log"]).read_text()  # the model's output is in logs/ once


def test_failing_command_exits_1_with_the_exit_code_recorded(slurm_run: Run, slurm_cluster):
    proc = slurm_run.run("backend.command='echo to-stdout; echo to-stderr >&2; exit 3'")
    assert proc.returncode == 1, proc.stderr
    record = slurm_run.record()
    assert record["status"] == "failed" and record["failed_stage"] == "run"
    assert record["exit_code"] == 3 and record["backend"]["exit_code"] == 3
    assert "exited with code 3" in record["message"]
    assert record["backend"]["details"]["slurm_state"] == "COMPLETED"  # the job ran to its end; the model failed
    assert "to-stdout" in proc.stdout and "to-stderr" in proc.stderr
    assert (slurm_run.run_dir / "logs" / "stderr.log").read_text() == "to-stderr\n"


def test_output_is_streamed_while_the_job_runs(slurm_run: Run, slurm_cluster):
    proc = slurm_run.popen("backend.command='echo first-line; sleep 12; echo second-line'")
    with kill_on_exit(proc):
        line = ""
        deadline = time.monotonic() + 180
        while "first-line" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "rompy ended before the first line"
        job_id = running_job(slurm_run.job_name, timeout=5)  # still running when its output arrived
        assert job_id in squeue_ids()
        out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "second-line" in out


@pytest.mark.slow
def test_timeout_cancels_the_job(slurm_run: Run, slurm_cluster):
    sleep = unique_sleep()
    t0 = time.monotonic()
    proc = slurm_run.run("backend.timeout=60", f"backend.command='echo started; sleep {sleep}'", timeout=400)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr
    record = slurm_run.record()
    assert record["status"] == "timed_out", record
    assert "60 s timeout" in record["message"]
    job_id = record["backend"]["details"]["slurm_job_id"]
    assert job_id not in squeue_ids()
    state = wait_sacct(job_id, ("CANCELLED", "TIMEOUT"))
    assert state.split()[0] in ("CANCELLED", "TIMEOUT"), state
    assert record["backend"]["details"]["slurm_state"].split()[0] in ("CANCELLED", "TIMEOUT")
    assert 60 <= elapsed < 150, elapsed
    assert processes_matching(f"^sleep {sleep}$") == ""


def test_job_cancelled_from_outside_is_failed(slurm_run: Run, slurm_cluster):
    sleep = unique_sleep()
    proc = slurm_run.popen(f"backend.command='echo started; sleep {sleep}'")
    with kill_on_exit(proc):
        job_id = running_job(slurm_run.job_name)
        time.sleep(1)
        subprocess.run(["scancel", job_id], check=True)
        out, err = proc.communicate(timeout=180)
    assert proc.returncode == 1, err
    record = slurm_run.record()
    assert record["status"] == "failed" and record["failed_stage"] == "run"
    assert f"SLURM job {job_id} was cancelled" in record["message"]
    assert record["backend"]["details"]["slurm_state"].startswith("CANCELLED")
    assert job_id not in squeue_ids()
    assert processes_matching(f"^sleep {sleep}$") == ""


def test_next_start_cancels_the_job_of_a_killed_rompy(slurm_run: Run, slurm_cluster, tmp_path):
    state = {"ROMPY_STATE_DIR": str(tmp_path / "state")}  # this test's active runs only
    sleep = unique_sleep()
    proc = slurm_run.popen(f"backend.command='echo started; sleep {sleep}'", env=state)
    try:
        job_id = running_job(slurm_run.job_name)
        deadline = time.monotonic() + 60  # rompy noted the job id in its active-run entry
        while job_id not in "".join(p.read_text() for p in (tmp_path / "state/active").glob("*.json")):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        proc.kill()  # SIGKILL: rompy cannot cancel anything
        proc.communicate(timeout=60)
    time.sleep(2)
    assert job_id in squeue_ids(), "the job should outlive the killed rompy"
    later = subprocess.run([sys.executable, "-m", "rompy", "dry_run=true"], cwd=tmp_path,
                           env={**os.environ, **state}, capture_output=True, text=True, timeout=120)
    assert later.returncode == 0, later.stderr
    assert f"cancelled SLURM job {job_id} of a killed rompy" in later.stderr
    assert wait_gone(job_id), f"job {job_id} still in squeue"
    assert wait_sacct(job_id, ("CANCELLED",)).startswith("CANCELLED")
    record = slurm_run.record()
    assert record["status"] == "interrupted", record
    assert f"SLURM job {job_id} cancelled" in record["message"]
    assert record["backend"]["details"]["slurm_job_id"] == job_id
    deadline = time.monotonic() + 30
    while processes_matching(f"^sleep {sleep}$") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_matching(f"^sleep {sleep}$") == ""


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_to_rompy_cancels_the_job(slurm_run: Run, slurm_cluster, signum, code):
    sleep = unique_sleep()
    proc = slurm_run.popen(f"backend.command='echo started; sleep {sleep}'")
    with kill_on_exit(proc):
        job_id = running_job(slurm_run.job_name)
        deadline = time.monotonic() + 60  # rompy has seen it running: its run record says run
        while json.loads((slurm_run.run_dir / "rompy-result.json").read_text())["stage"] != "run":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"cancelled SLURM job {job_id}" in err
    record = slurm_run.record()
    assert record["status"] == "interrupted" and record["failed_stage"] == "run"
    assert record["backend"]["details"]["slurm_job_id"] == job_id
    assert wait_gone(job_id), f"job {job_id} still in squeue"
    assert wait_sacct(job_id, ("CANCELLED",)).startswith("CANCELLED")
    deadline = time.monotonic() + 30
    while processes_matching(f"^sleep {sleep}$") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_matching(f"^sleep {sleep}$") == ""


def test_preflight_refuses_an_unknown_partition_and_creates_nothing(slurm_run: Run, slurm_cluster):
    proc = slurm_run.run("backend.queue=no_such_partition")
    assert proc.returncode == 2, proc.stderr
    assert "partition 'no_such_partition' does not exist" in proc.stderr and "debug" in proc.stderr
    assert not slurm_run.output.exists()


def test_env_vars_and_secrets_reach_the_model_but_no_job_file(slurm_run: Run, slurm_cluster):
    secret = "s3cr3t-" + unique_sleep()
    proc = slurm_run.run("+backend.env_vars.PLAIN=plain-value", "backend.secret_env=[ROMPY_TEST_SECRET]",
                         "backend.cpus_per_task=2",
                         "backend.command='echo \"$PLAIN $ROMPY_TEST_SECRET threads=$OMP_NUM_THREADS $SLURM_JOB_ID\"'",
                         env={"ROMPY_TEST_SECRET": secret})
    assert proc.returncode == 0, proc.stderr
    record = slurm_run.record()
    job_id = record["backend"]["details"]["slurm_job_id"]
    assert (slurm_run.run_dir / "logs" / "stdout.log").read_text() == f"plain-value {secret} threads=2 {job_id}\n"
    for path in slurm_run.run_dir.rglob("*"):
        if path.is_file() and path.name != "stdout.log":
            assert secret.encode() not in path.read_bytes(), path


def test_sbatch_options_reach_slurm(slurm_run: Run, slurm_cluster):
    proc = slurm_run.run("backend.account=root", "backend.qos=normal", "backend.job_name=rompy-options-test",
                         "backend.time_limit=1-00:00:00", "backend.output_file=slurm-%j.out",
                         "backend.additional_options=['--comment=from-rompy']", "backend.command='true'")
    assert proc.returncode == 0, proc.stderr
    details = slurm_run.record()["backend"]["details"]
    job_id = details["slurm_job_id"]
    assert (slurm_run.run_dir / f"slurm-{job_id}.out").is_file()
    assert details["slurm_log"] == str(slurm_run.run_dir / f"slurm-{job_id}.out")
    assert details["job_name"] == "rompy-options-test"
    for field, value in (("Account", "root"), ("QOS", "normal"), ("JobName", "rompy-options-test"),
                         ("Timelimit", "1-00:00:00")):
        assert sacct_eventually(job_id, field, value), (field, sacct(job_id, field))
    # Comments are not kept by accounting here; slurmctld still knows the job (MinJobAge).
    shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    assert "Comment=from-rompy" in shown, shown


def test_mpi_launcher_runs_one_rank_per_task(tmp_path, slurm_cluster):
    from rompy.backends import SlurmConfig
    from rompy.model import ModelRun

    model = ModelRun(run_id="mpi", output_dir=tmp_path)
    backend = SlurmConfig(queue="debug", mpiexec="srun", ntasks=2, time_limit="00:10:00", timeout=600,
                          command=["sh", "-c", "echo rank $SLURM_PROCID of $SLURM_NTASKS"])
    assert model.run(backend=backend), model.record["message"]
    lines = sorted((model.run_dir / "logs" / "stdout.log").read_text().splitlines())
    assert lines == ["rank 0 of 2", "rank 1 of 2"]


def test_python_api(tmp_path, slurm_cluster):
    from rompy.backends import SlurmConfig
    from rompy.model import ModelRun

    model = ModelRun(run_id="api", output_dir=tmp_path)
    assert model.run(backend=SlurmConfig(queue="debug", time_limit="00:10:00", timeout=600)) is True
    record = json.loads(model.record_path.read_text())
    assert record["status"] == "succeeded" and record["backend"]["details"]["partition"] == "debug"
    assert (model.outputs_dir / "dispersion.csv").is_file()
    assert model.postprocess(processor="noop")["success"]


def test_cli_and_api_record_the_same_backend_config(slurm_run: Run, tmp_path, slurm_cluster):
    from rompy.backends import SlurmConfig
    from rompy.model import ModelRun

    config = SlurmConfig(queue="debug", time_limit="00:10:00", timeout=600)
    proc = slurm_run.run("backend.queue=debug", "backend.time_limit=00:10:00", "backend.timeout=600")
    assert proc.returncode == 0, proc.stderr
    cli = slurm_run.record()
    model = ModelRun(run_id="api", output_dir=tmp_path / "api")
    assert model.run(backend=config)
    api = json.loads(model.record_path.read_text())
    assert cli["config"]["backend"] == api["config"]["backend"] == config.model_dump(mode="json")
    for record in (cli, api):
        assert record["status"] == "succeeded" and record["exit_code"] == 0
        assert set(record["backend"]["details"]) == {"slurm_job_id", "partition", "slurm_state", "job_name", "node",
                                                     "nodes", "slurm_log", "queued_s"}
        assert record["backend"]["details"]["slurm_state"] == "COMPLETED"
        assert record["backend"]["details"]["nodes"] == [record["backend"]["details"]["node"]]  # one node: this one
    assert set(cli) == set(api)


def test_example_05_runs_as_documented(tmp_path, slurm_cluster):
    script = REPO / "examples" / "backends" / "05_slurm_backend_run.py"
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "ROMPY_EXAMPLE_PARTITION": "debug"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    record = json.loads((tmp_path / "output" / "example_slurm_run" / "rompy-result.json").read_text())
    assert record["status"] == "succeeded" and record["backend"]["details"]["slurm_state"] == "COMPLETED"
    assert (tmp_path / "output" / "example_slurm_run" / "outputs" / "dispersion.csv").is_file()


def test_job_sbatch_refuses_is_a_failed_run(slurm_run: Run, slurm_cluster):
    proc = slurm_run.run("backend.reservation=no_such_reservation")
    assert proc.returncode == 1, proc.stderr
    record = slurm_run.record()
    assert record["status"] == "failed" and record["failed_stage"] == "run"
    assert record["message"].startswith("sbatch refused the job") and "reservation" in record["message"]
    assert "slurm_job_id" not in record["backend"]["details"]
