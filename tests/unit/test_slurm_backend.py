"""The SLURM backend and the SLURM sweep launcher against fake SLURM commands (tests/helpers/fake_slurm.py).

submitit and rompy run for real; sbatch, sacct, squeue and scancel are fakes whose jobs run
on this machine. What a user notices: output streamed, exit codes, env_vars reaching the job
without being written anywhere, a cancelled job reported, and a job a killed rompy left
cancelled by the next start. Scheduling, accounting and limits need a real cluster:
tests/slurm_backend and tests/sweep/test_slurm.py check them.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from tests.helpers.cli import read_record, rompy_cmd, rompy_running, run_rompy
from tests.helpers.processes import wait_for
from tests.helpers.sweeps import most_at_once, run_spans

SLURM = ["backend=slurm"]
FAST_SWEEP = ["hydra/launcher=slurm", "hydra.launcher.poll_s=0.2", "hydra.launcher.status_interval_s=0.5"]


def test_a_run_is_one_job_whose_output_and_exit_code_come_back(workdir, fake_slurm):
    proc = run_rompy(*SLURM, "run_id=job", "backend.command='echo from the node; echo oops >&2; exit 3'", cwd=workdir)
    assert proc.returncode == 1
    assert "from the node" in proc.stdout and "oops" in proc.stderr
    record = read_record(workdir / "output" / "job")
    assert record["status"] == "failed" and record["exit_code"] == 3
    details = record["backend"]["details"]
    assert details["slurm_state"] == "COMPLETED" and details["node"] == "fake" and details["nodes"] == ["fake"]
    assert [task["id"] for task in fake_slurm.tasks()] == [details["slurm_job_id"]]


def test_env_vars_reach_the_job_and_no_file(workdir, fake_slurm):
    proc = run_rompy(*SLURM, "run_id=env", "+backend.env_vars.MODEL_MODE=fast-7431",
                     "backend.command='echo mode=$MODEL_MODE'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "mode=fast-7431" in proc.stdout
    written = [p for p in (workdir / "output" / "env" / "logs" / "slurm").rglob("*") if p.is_file()]
    assert written and not any("fast-7431" in p.read_text(errors="replace") for p in written
                               if p.suffix in (".sh", ".out", ".err"))


def test_a_job_cancelled_by_someone_else_is_a_failed_run(workdir, fake_slurm):
    with rompy_running(*SLURM, "run_id=cancelled", "backend.command='echo started; sleep 300'", cwd=workdir) as proc:
        (task,) = fake_slurm.tasks()
        subprocess.run(["scancel", task["id"]], check=True)
        assert proc.wait(timeout=120) == 1
    record = read_record(workdir / "output" / "cancelled")
    assert record["status"] == "failed" and f"SLURM job {task['id']} was cancelled" in record["message"]


def test_ctrl_c_cancels_the_job(workdir, fake_slurm):
    with rompy_running(*SLURM, "run_id=stop", "backend.command='echo started; sleep 300'", cwd=workdir) as proc:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130
    assert read_record(workdir / "output" / "stop")["status"] == "interrupted"
    assert wait_for(lambda: [t["state"] for t in fake_slurm.tasks()] == ["CANCELLED"], 30)


def test_the_next_start_cancels_the_job_of_a_killed_rompy(workdir, fake_slurm):
    with rompy_running(*SLURM, "run_id=orphan", "backend.command='echo started; sleep 300'", cwd=workdir) as proc:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    (task,) = fake_slurm.tasks()
    assert task["state"] == "RUNNING", "a SIGKILLed rompy cannot cancel its job"
    assert run_rompy("dry_run=true", cwd=workdir).returncode == 0  # any later start of the same registry
    assert wait_for(lambda: fake_slurm.tasks()[0]["state"] == "CANCELLED", 30)
    record = read_record(workdir / "output" / "orphan")
    assert record["status"] == "interrupted" and f"SLURM job {task['id']} cancelled" in record["message"]


def test_a_sweep_runs_its_members_as_array_tasks(workdir, fake_slurm):
    proc = run_rompy("-m", *FAST_SWEEP, "hydra.sweep.dir=sweep", "+backend.env_vars.M=0,1,2",
                     "backend.command='test $M != 1'", cwd=workdir)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((workdir / "sweep" / "summary.json").read_text())
    assert [m["status"] for m in summary["members"]] == ["succeeded", "failed", "succeeded"]
    (array_id,) = {t["array_id"] for t in fake_slurm.tasks()}
    assert len(fake_slurm.tasks()) == 3, "the three members are one array"
    assert [m["details"]["slurm_job_id"] for m in summary["members"]] == [f"{array_id}_{i}" for i in range(3)]
    assert {m["details"]["host"] for m in summary["members"]} == {"fake"}


def test_a_cancelled_member_fails_alone(workdir, fake_slurm, monkeypatch):
    """With sacct saying RUNNING for a while after the task ended (as a cluster's accounting may),
    a task cancelled before its member started was reported 'ended RUNNING', not cancelled."""
    monkeypatch.setenv("FAKE_SLURM_ACCOUNTING_LAG_S", "3")
    proc = subprocess.Popen(rompy_cmd("-m", *FAST_SWEEP, "hydra.sweep.dir=sweep", "+backend.env_vars.M=0,1,2",
                                      "backend.command='if [ $M = 1 ]; then sleep 300; fi'"),
                            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        running = wait_for(lambda: [t for t in fake_slurm.tasks() if t["task"] == 1 and t["state"] == "RUNNING"], 60)
        assert running, fake_slurm.tasks()
        subprocess.run(["scancel", running[0]["id"]], check=True)
        assert proc.wait(timeout=120) == 1
    finally:
        proc.kill()
    summary = json.loads((workdir / "sweep" / "summary.json").read_text())
    assert [m["status"] for m in summary["members"]] == ["succeeded", "failed", "succeeded"]
    assert "cancelled" in summary["members"][1]["message"]


def _sigterm_while_setting_up(workdir: Path, hook: str) -> Path:
    """A folder for the job's PYTHONPATH whose sitecustomize.py runs `hook`, which sends the job's
    Python SIGTERM as rompy's code on the node begins: a scancel landing while the job sets up,
    after submitit has taken SIGTERM over."""
    folder = workdir / "hooks"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text("import os, signal, sys\n" + hook)
    return folder


_AT_THE_RUNS_FIRST_IMPORT = """
class SignalOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == "rompy.runtime.processes":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGTERM)
        return None
sys.meta_path.insert(0, SignalOnImport())
"""
_AT_THE_PACKS_SET_UP = """
import hydra.core.utils as utils
setup_globals = utils.setup_globals
def signal_then_set_up():
    os.kill(os.getpid(), signal.SIGTERM)
    return setup_globals()
utils.setup_globals = signal_then_set_up
"""


def test_a_cancel_landing_while_the_job_sets_up_stops_it_before_the_model(workdir, fake_slurm):
    hooks = _sigterm_while_setting_up(workdir, _AT_THE_RUNS_FIRST_IMPORT)
    ledger = workdir / "ledger"
    proc = run_rompy(*SLURM, "run_id=early", f"+backend.env_vars.PYTHONPATH={hooks}",
                     f"backend.command='echo ran >> {ledger}'", cwd=workdir)
    assert not ledger.exists(), "the model ran after its job was told to stop"
    assert proc.returncode != 0
    assert read_record(workdir / "output" / "early")["status"] == "interrupted"


def test_a_cancel_landing_while_a_task_sets_up_stops_it_before_its_first_member(workdir, fake_slurm):
    hooks = _sigterm_while_setting_up(workdir, _AT_THE_PACKS_SET_UP)
    ledger = workdir / "ledger"
    proc = run_rompy("-m", *FAST_SWEEP, "hydra.launcher.members_per_task=2", "hydra.sweep.dir=sweep",
                     f"+hydra.launcher.setup=['export PYTHONPATH={hooks}']", "+backend.env_vars.M=0,1",
                     f"backend.command='echo $M >> {ledger}'", cwd=workdir)
    assert proc.returncode == 1, proc.stderr
    assert not ledger.exists(), "a member's model ran after its task was told to stop"
    summary = json.loads((workdir / "sweep" / "summary.json").read_text())
    assert [m["status"] for m in summary["members"]] == ["failed", "failed"]
    assert all("had not started" in m["message"] for m in summary["members"]), summary["members"]


_SCANCEL_AT_THE_PACKS_SET_UP = """
import subprocess, time
import hydra.core.utils as utils
setup_globals = utils.setup_globals
def cancelled_while_setting_up():
    task = os.environ["SLURM_ARRAY_JOB_ID"] + "_" + os.environ["SLURM_ARRAY_TASK_ID"]
    if os.environ["SLURM_ARRAY_TASK_ID"] == "1":
        subprocess.run(["scancel", task], check=True)
        time.sleep(30)  # scancel's SIGTERM lands here
    return setup_globals()
utils.setup_globals = cancelled_while_setting_up
"""


def test_a_task_cancelled_by_someone_else_before_its_member_started_says_cancelled(workdir, fake_slurm,
                                                                                   monkeypatch):
    """The task wrote its result (no member run) before sacct said CANCELLED; rompy took the result
    as the task's end and reported 'SLURM job ..._1 ended RUNNING; member 1 had not started'."""
    monkeypatch.setenv("FAKE_SLURM_ACCOUNTING_LAG_S", "3")
    hooks = _sigterm_while_setting_up(workdir, _SCANCEL_AT_THE_PACKS_SET_UP)
    proc = run_rompy("-m", *FAST_SWEEP, "hydra.sweep.dir=sweep", f"+hydra.launcher.setup=['export PYTHONPATH={hooks}']",
                     "+backend.env_vars.M=0,1,2", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((workdir / "sweep" / "summary.json").read_text())
    assert [m["status"] for m in summary["members"]] == ["succeeded", "failed", "succeeded"]
    message = summary["members"][1]["message"]
    assert "cancelled" in message and "had not started" in message, message


def test_members_packed_into_array_tasks_fail_alone(workdir, fake_slurm):
    """Three members a task: a failing member and one whose worker is killed leave their task-mates be."""
    proc = run_rompy("-m", *FAST_SWEEP, "hydra.launcher.members_per_task=3", "hydra.sweep.dir=sweep",
                     "+backend.env_vars.M=range(0,7)",
                     "backend.command='test $M != 4 || exit 3; test $M != 3 || kill -9 $PPID'", cwd=workdir)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((workdir / "sweep" / "summary.json").read_text())
    statuses = [m["status"] for m in summary["members"]]
    assert statuses == ["succeeded"] * 3 + ["failed", "failed", "succeeded", "succeeded"]
    assert "killed by SIGKILL" in summary["members"][3]["message"], "its worker killed: the next member still ran"
    assert "exited with code 3" in summary["members"][4]["message"]
    assert len(fake_slurm.tasks()) == 3, "seven members in three array tasks"
    tasks = [m["details"]["slurm_job_id"] for m in summary["members"]]
    assert tasks[0] == tasks[1] == tasks[2] != tasks[3] == tasks[4] == tasks[5] != tasks[6]
    for member in summary["members"]:
        assert read_record(member["run_dir"])["status"] == member["status"], "each member keeps its own record"


def test_a_task_with_more_cores_runs_its_members_side_by_side(workdir, fake_slurm):
    proc = run_rompy("-m", *FAST_SWEEP, "hydra.launcher.members_per_task=4", "hydra.launcher.cpus_per_task=2",
                     "hydra.sweep.dir=sweep", "+backend.env_vars.M=range(0,4)", "backend.command='sleep 1'",
                     cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    members = json.loads((workdir / "sweep" / "summary.json").read_text())["members"]
    # Each member's run, less a tenth of a second at either end: one member's end and the next
    # one's start a few ms apart do not count as running together.
    spans = run_spans(members, margin=0.1)
    # Side by side, never more than the task's two cores (how the pairs line up is the machine's).
    assert most_at_once(spans) == 2, f"two at a time: the task's two cores; member runs {spans}"
    (task,) = fake_slurm.tasks()
    assert task["state"] == "COMPLETED"


def test_no_array_is_larger_than_max_array_size(workdir, fake_slurm):
    proc = run_rompy("-m", *FAST_SWEEP, "hydra.launcher.max_array_size=2", "hydra.sweep.dir=sweep",
                     "+backend.env_vars.M=range(0,5)", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    arrays = {}
    for task in fake_slurm.tasks():
        arrays.setdefault(task["array_id"], []).append(task)
    assert sorted(len(tasks) for tasks in arrays.values()) == [1, 2, 2]


def test_task_minutes_packs_as_many_members_as_their_timeouts_fit():
    from rompy.backends import LocalConfig
    from rompy.sweep.executors.slurm import SlurmExecutor, members_per_task
    from rompy.sweep.plan import MemberJob

    assert members_per_task({"task_minutes": 30}, timeout_s=600) == 3
    assert members_per_task({"task_minutes": 5}, timeout_s=600) == 1
    assert members_per_task({"members_per_task": 8, "task_minutes": 30}, timeout_s=600) == 8
    jobs = [MemberJob(n, [], "k", f"r{n}", resources=LocalConfig(timeout=600).resources()) for n in range(7)]
    executor = SlurmExecutor({"task_minutes": 30, "timeout_margin_s": 60})
    ((sbatch, packs, task_timeout),) = executor.packs(jobs, Path("/nonexistent"))
    assert [len(p.jobs) for p in packs] == [3, 3, 1]
    assert task_timeout == 1800 and sbatch["time"] == 32  # three 600 s members one after another, + margin
