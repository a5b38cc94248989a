"""The slurm launcher on a real one-node SLURM cluster (scripts/services/slurm.sh), plus its watchdog."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from rompy.sweep.records import MemberResult
from rompy.sweep.executors.slurm import Pack, SlurmExecutor, _Tracked, member_resources, state_result
from tests.helpers.cli import kill_on_exit, read_record
from tests.helpers.slurm import running_job, sacct, squeue_ids
from tests.helpers.sweeps import most_at_once, run_spans


def _job_name() -> str:
    """A SLURM job name no other test uses."""
    return f"rompy-test-{uuid.uuid4().hex[:8]}"


def _start_slurm_sweep(sweep, command: str, members: str) -> tuple[str, subprocess.Popen]:
    """Start, in the background, a sweep of `command` over M=`members` on the slurm launcher; (job name, process)."""
    name = _job_name()
    return name, sweep.popen("hydra/launcher=slurm", f"hydra.launcher.name={name}", f"backend.command='{command}'",
                             f"+backend.env_vars.M={members}")


@pytest.mark.slurm
def test_scancelled_member_is_failed_and_the_others_finish(sweep, slurm_cluster):
    name, proc = _start_slurm_sweep(sweep, "sleep 12", "range(0,4)")
    with kill_on_exit(proc):
        victim = running_job(name, index=1, timeout=120)
        subprocess.run(["scancel", victim], check=True)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    summary = sweep.summary()
    assert summary["launcher"] == "slurm" and summary["total"] == 4
    members = {m["member"]: m for m in summary["members"]}
    assert members[1]["status"] == "failed" and "cancelled" in members[1]["message"]
    assert members[1]["details"]["slurm_job_id"] == victim
    for i in (0, 2, 3):
        assert members[i]["status"] == "succeeded", members[i]
        assert Path(members[i]["run_dir"], "rompy-result.json").exists()
    assert summary["counts"]["succeeded"] == 3 and summary["counts"]["failed"] == 1
    assert len(sweep.lines()) == 4
    assert "1  failed" in out.splitlines()[1]


@pytest.mark.slurm
def test_per_member_resources_and_array_options(sweep, slurm_cluster):
    proc = sweep.run("hydra/launcher=slurm", "hydra.launcher.partition=debug", "hydra.launcher.array_parallelism=1",
                     "hydra.launcher.account=root",
                     "backend.command='true'", "backend.timeout=60", "backend.cpu=1,2", "+backend.env_vars.M=0,1")
    assert proc.returncode == 0, proc.stderr
    assert sweep.summary()["counts"]["succeeded"] == 4
    scripts = sorted((sweep.dir / ".submitit").glob("*/*_submission.sh"))
    assert len(scripts) == 2  # one array per resource group
    texts = [p.read_text() for p in scripts]
    assert sorted(re.search(r"--cpus-per-task=(\d+)", t).group(1) for t in texts) == ["1", "2"]
    for text in texts:
        assert "--partition=debug" in text and "--time=3" in text  # (60 s + 60 s margin) / 60 + 1
        assert "--account=root" in text
        assert re.search(r"--array=0-1%1", text)


@pytest.mark.slurm
@pytest.mark.slow
def test_member_timeout_cancels_its_job(sweep, slurm_cluster):
    token = f"30{uuid.uuid4().int % 1000:03d}"
    name = _job_name()
    t0 = time.monotonic()
    proc = sweep.run("hydra/launcher=slurm", f"hydra.launcher.name={name}", "hydra.launcher.timeout_margin_s=0",
                     "backend.timeout=60", f"backend.command='sleep {token}','true','true','true'", timeout=400)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr
    members = {m["member"]: m for m in sweep.summary()["members"]}
    assert members[0]["status"] == "timed_out", members[0]
    assert all(members[i]["status"] == "succeeded" for i in (1, 2, 3))
    job_id = members[0]["details"]["slurm_job_id"]
    assert job_id not in squeue_ids()
    assert sacct(job_id).split()[0] in ("CANCELLED", "COMPLETED", "TIMEOUT"), sacct(job_id)
    assert elapsed < 200
    time.sleep(1)
    assert subprocess.run(["pgrep", "-f", f"sleep {token}"], capture_output=True).returncode == 1


@pytest.mark.slurm
@pytest.mark.slow
def test_packed_members_that_fail_are_killed_or_time_out_leave_their_task_mates_be(sweep, slurm_cluster):
    """Four members a task, one after another: member 1 fails, member 2's worker is killed,
    member 3 runs past its timeout; member 0 and the next task's members succeed."""
    name = _job_name()
    token = f"31{uuid.uuid4().int % 1000:03d}"
    command = f"test $M != 1 || exit 3; test $M != 2 || kill -9 $PPID; test $M != 3 || sleep {token}"
    proc = sweep.run("hydra/launcher=slurm", f"hydra.launcher.name={name}", "hydra.launcher.members_per_task=4",
                     "hydra.launcher.poll_s=0.5", "backend.timeout=60", f"backend.command='{command}'",
                     "+backend.env_vars.M=range(0,6)", timeout=400)
    assert proc.returncode == 1, proc.stderr
    members = sweep.by_member()
    assert [members[i]["status"] for i in range(6)] == ["succeeded", "failed", "failed", "timed_out",
                                                        "succeeded", "succeeded"], members
    assert "exited with code 3" in members[1]["message"]
    assert "killed by SIGKILL" in members[2]["message"], "its worker killed: the task went on to member 3"
    assert "60 s timeout" in members[3]["message"]
    tasks = [members[i]["details"]["slurm_job_id"] for i in range(6)]
    assert len(set(tasks[:4])) == 1 and len(set(tasks[4:])) == 1 and tasks[0] != tasks[4]
    assert all(sacct(task).split()[0] == "COMPLETED" for task in (tasks[0], tasks[4])), "no member ended its task"
    for i in range(6):
        assert read_record(Path(members[i]["run_dir"]))["status"] == members[i]["status"], "each keeps its record"
    time.sleep(1)
    assert subprocess.run(["pgrep", "-f", f"sleep {token}"], capture_output=True).returncode == 1


@pytest.mark.slurm
def test_a_packed_task_with_two_cores_runs_two_members_at_a_time(sweep, slurm_cluster):
    proc = sweep.run("hydra/launcher=slurm", f"hydra.launcher.name={_job_name()}", "hydra.launcher.members_per_task=4",
                     "hydra.launcher.cpus_per_task=2", "hydra.launcher.poll_s=0.5", "backend.command='sleep 2'",
                     "+backend.env_vars.M=range(0,4)", timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = sweep.lines()
    assert len({line["details"]["slurm_job_id"] for line in lines}) == 1, "four members, one array task"
    # Less a quarter second at either end: one member's end and the next one's start do not overlap.
    assert most_at_once(run_spans(lines, margin=0.25)) == 2, run_spans(lines)


# -- without a cluster ----------------------------------------------------------------


class _Watcher:
    def __init__(self):
        self.states = {}

    def get_state(self, job_id, mode="standard"):
        return self.states.get(job_id, "PENDING")

    def update(self):
        pass


class _Paths:
    result_pickle = Path("/nonexistent/result.pkl")


class _SJob:
    def __init__(self, job_id, watcher):
        self.job_id, self.watcher, self.paths, self.cancelled = job_id, watcher, _Paths(), False

    def cancel(self, check=True):
        self.cancelled = True
        self.watcher.states[self.job_id] = "CANCELLED by 0"


class _Ctx:
    stopping = False
    stop_reason = None

    def __init__(self):
        self.started_jobs, self.finished_jobs = [], []

    def started(self, job):
        self.started_jobs.append(job)

    def finished(self, job, result, was_running=True):
        self.finished_jobs.append((job, result))

    def tick(self):
        pass

    def interrupt(self, code):
        self.stopping = True


class _Job:
    number, run_dir = 0, None


def test_watchdog_cancels_a_job_running_past_its_timeout(tmp_path):
    ticks = itertools.count()
    executor = SlurmExecutor({"timeout_margin_s": 5, "poll_s": 0.0001, "status_interval_s": 0},
                             clock=lambda: float(next(ticks)))
    watcher = _Watcher()
    sjob = _SJob("7_0", watcher)
    watcher.states["7_0"] = "RUNNING"
    progress = tmp_path / "pack-0.jsonl"
    progress.write_text('{"member": 0, "event": "started"}\n')  # the task started its member, which hangs
    ctx = _Ctx()
    executor._watch([_Tracked(pack=Pack(0, [_Job()], 1, progress), sjob=sjob, timeout_s=10)], ctx)
    assert sjob.cancelled
    (job, result), = ctx.finished_jobs
    assert result.status == "timed_out" and "cancelled SLURM job 7_0" in result.message


def test_an_interrupt_reports_what_a_task_did_since_the_last_look(tmp_path, monkeypatch):
    """rompy is interrupted just after a task started and ran a member that it has not yet seen
    (squeue no longer lists the task): the member is reported as it ended, not as never run."""
    from rompy.sweep.executors import slurm

    monkeypatch.setattr(slurm, "squeue_started", lambda job_ids: set())
    executor = SlurmExecutor({"poll_s": 0.0001, "status_interval_s": 0})
    sjob = _SJob("7_0", _Watcher())
    progress = tmp_path / "pack-0.jsonl"
    ended = MemberResult("succeeded", 0, "").to_dict()
    progress.write_text('{"member": 0, "event": "started"}\n'
                        f'{json.dumps({"member": 0, "event": "ended", "result": ended})}\n')
    second = _Job()
    second.number = 1
    ctx = _Ctx()
    ctx.stopping, ctx.stop_reason = True, "interrupted"
    executor._stop([_Tracked(pack=Pack(0, [_Job(), second], 1, progress), sjob=sjob, timeout_s=10)], ctx)
    assert sjob.cancelled
    assert [(job.number, result.status) for job, result in ctx.finished_jobs] == [(0, "succeeded")]


def test_states_without_a_result():
    assert state_result("CANCELLED by 0", "1_2").status == "failed"
    assert state_result("TIMEOUT", "1_2").status == "timed_out"
    assert state_result("NODE_FAIL", "1_2").status == "failed"
    assert isinstance(state_result("OUT_OF_MEMORY", "1"), MemberResult)


def test_sbatch_resources_come_from_the_members_backend():
    from rompy.backends import DockerConfig, LocalConfig

    docker = DockerConfig(image="busybox", cpu=1.5, timeout=600, memory="2g").resources()
    assert member_resources(docker, {"timeout_margin_s": 60}) == {"cpus_per_task": 2, "time": 12, "mem": "2048M"}
    assert member_resources(docker, {"mem_gb": 4, "timeout_min": 30}) == {"cpus_per_task": 2, "time": 30, "mem": "4GB"}
    assert member_resources(LocalConfig(cpu=3).resources(), {}) == {"cpus_per_task": 3, "time": 61}


@pytest.mark.slurm
def test_interrupting_the_sweep_cancels_its_jobs(sweep, slurm_cluster):
    import signal

    name, proc = _start_slurm_sweep(sweep, "sleep 120", "range(0,3)")
    with kill_on_exit(proc):
        running_job(name, index=0, timeout=120)
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    summary = sweep.summary()
    assert summary["members"][0]["status"] == "interrupted"
    assert {m["status"] for m in summary["members"]} <= {"interrupted", "not_run"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-n", name], capture_output=True, text=True).stdout
        if not out.strip():
            break
        time.sleep(1)
    assert not out.strip(), out


@pytest.mark.slurm
def test_packed_members_survive_a_scancel_of_their_array_and_resume_one_by_one(sweep, slurm_cluster):
    """Eight members, four a task; the array is cancelled while members 1 and 5 hang."""
    name = _job_name()
    flag = sweep.root / "let-them-finish"
    command = f"backend.command='if [ $M = 1 -o $M = 5 ] && [ ! -e {flag} ]; then sleep 300; fi'"
    args = ["hydra/launcher=slurm", f"hydra.launcher.name={name}", "hydra.launcher.members_per_task=4",
            "hydra.launcher.poll_s=0.5", command, "+backend.env_vars.M=range(0,8)"]

    def started() -> set[int]:
        events = [json.loads(line) for path in (sweep.dir / ".rompy-tasks").glob("*.jsonl")
                  for line in path.read_text().splitlines()]
        return {e["member"] for e in events if e["event"] == "started"}

    proc = sweep.popen(*args)
    with kill_on_exit(proc):
        deadline = time.monotonic() + 240
        while not {1, 5} <= started() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
        assert {1, 5} <= started(), proc.stderr.read() if proc.poll() is not None else started()
        listed = subprocess.run(["squeue", "-h", "-n", name, "-o", "%F"], capture_output=True, text=True).stdout
        (array,) = set(listed.split())
        subprocess.run(["scancel", array], check=True)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    members = {m["member"]: m for m in sweep.summary()["members"]}
    assert [members[i]["status"] for i in range(8)] == ["succeeded", "failed", "failed", "failed"] * 2
    assert all("cancelled" in members[i]["message"] for i in (1, 2, 3, 5, 6, 7))
    assert all("had not started" in members[i]["message"] for i in (2, 3, 6, 7))
    tasks = {i: members[i]["details"]["slurm_job_id"] for i in range(8)}
    assert len({tasks[i] for i in range(4)}) == 1 and len({tasks[i] for i in range(4, 8)}) == 1
    assert tasks[0] != tasks[4]
    flag.touch()
    resumed = sweep.run(*args, "sweep.resume=true", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    after = {m["member"]: m for m in sweep.summary()["members"]}
    assert [after[i]["status"] for i in range(8)] == ["skipped", "succeeded", "succeeded", "succeeded"] * 2
    assert len(sweep.lines()) == 16
    for i in range(8):
        assert json.loads((Path(after[i]["run_dir"]) / "rompy-result.json").read_text())["status"] == "succeeded"
