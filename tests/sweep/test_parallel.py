"""The parallel launcher: members side by side, as many as the cores and their weights allow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from rompy.backends import DockerConfig, LocalConfig, SlurmConfig
from rompy.sweep.executors.parallel import member_weight
from rompy.sweep.plan import MemberJob
from tests.helpers.cli import kill_on_exit
from tests.helpers.processes import children, is_running, processes_with_marker, wait_for
from tests.helpers.sweeps import most_at_once, run_spans


def test_members_run_side_by_side_within_the_core_budget(sweep):
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "backend.command='sleep 1.5'",
                     "+backend.env_vars.M=range(0,4)")
    assert proc.returncode == 0, proc.stderr
    lines = sweep.lines()
    assert len(lines) == 4 and all(l["status"] == "succeeded" for l in lines)
    assert all(l["launcher"] == "parallel" for l in lines)
    assert most_at_once(run_spans(lines)) == 2
    starts, ends = zip(*run_spans(lines))
    assert max(ends) - min(starts) < 6.0  # two waves of 1.5 s, not four (slack for a loaded machine)


def test_member_cpu_is_its_weight(sweep):
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "backend.cpu=2",
                     "backend.command='sleep 0.5'", "+backend.env_vars.M=range(0,3)")
    assert proc.returncode == 0, proc.stderr
    assert most_at_once(run_spans(sweep.lines())) == 1


def test_heavier_than_budget_runs_alone_and_failures_do_not_stop_others(sweep):
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=1", "backend.cpu=4",
                     "backend.command='exit 5','true'")
    assert proc.returncode == 1
    assert [m["status"] for m in sweep.summary()["members"]] == ["failed", "succeeded"]


def test_worker_killed_is_reported(sweep):
    # the member kills its own worker process (the parent of the model's shell)
    proc = sweep.run("hydra/launcher=parallel", "backend.command='kill -9 $PPID; sleep 5','true'")
    assert proc.returncode == 1
    members = sweep.summary()["members"]
    assert members[0]["status"] == "failed" and "worker process" in members[0]["message"]
    assert members[1]["status"] == "succeeded"


def test_workers_run_member_after_member(sweep):
    """A worker is forked once and runs many members: a fork per member cost more than a short member."""
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "backend.command='true'",
                     "+backend.env_vars.M=range(0,20)")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(p.read_text()) for p in sweep.output.glob("*/rompy-result.json")]
    assert len(records) == 20 and {r["status"] for r in records} == {"succeeded"}
    assert 1 <= len({r["pid"] for r in records}) <= 2, "one worker per core, each running many members"


def _one_member_sleeps(sweep, marker: str, sleeper: int, members: int) -> subprocess.Popen:
    """A parallel sweep on two cores whose member `sleeper` sleeps under `marker`; the others end at once."""
    model = sweep.root / "model.sh"
    model.write_text(f"#!/bin/bash\nif [ $M = {sleeper} ]; then exec -a {marker} sleep 300; fi\n")
    model.chmod(0o755)
    return sweep.popen("hydra/launcher=parallel", "hydra.launcher.cores=2", f"backend.command='{model}'",
                       f"+backend.env_vars.M=range(0,{members})")


def test_idle_and_busy_workers_end_with_a_killed_sweep(sweep):
    marker = f"rompy-idle-{os.getpid()}"
    proc = _one_member_sleeps(sweep, marker, 0, 6)
    with kill_on_exit(proc):
        assert wait_for(lambda: len(sweep.lines()) == 5, 120), "the short members should end"
        workers = children(proc.pid)
        assert len(workers) == 2 and processes_with_marker(marker), "one busy worker and one idle"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_for(lambda: not any(is_running(w) for w in workers), 30), "a worker outlived its sweep"
        assert wait_for(lambda: not processes_with_marker(marker), 30)
    (record,) = [json.loads(p.read_text()) for p in sweep.output.glob("*M-0*/rompy-result.json")]
    assert record["status"] == "interrupted" and "died" in record["message"]


def test_the_workers_that_check_a_large_sweep_hold_its_folder_as_they_run_its_members(sweep):
    """Forked before the sweep claimed its folder, they are handed the claim: a killed sweep's
    folder stays in use while its members stop, and is free once they have."""
    from rompy.sweep.lock import LOCK_NAME, sweep_is_running

    marker = f"rompy-held-{os.getpid()}"
    proc = _one_member_sleeps(sweep, marker, 5, 70)
    with kill_on_exit(proc):
        assert wait_for(lambda: len(sweep.lines()) == 69, 120), "the short members should end"
        lock = str(sweep.dir / LOCK_NAME)
        workers = children(proc.pid)

        def holds_lock(pid):
            return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == lock for fd in os.listdir(f"/proc/{pid}/fd"))

        assert len(workers) == 2 and all(holds_lock(pid) for pid in workers), "the checking workers run the members"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_for(lambda: not any(is_running(w) for w in workers), 30), "a worker outlived its sweep"
    assert not processes_with_marker(marker) and not sweep_is_running(sweep.dir)
    (record,) = [json.loads(p.read_text()) for p in sweep.output.glob("*M-5-*/rompy-result.json")]
    assert record["status"] == "interrupted"


def test_a_large_sweep_is_checked_side_by_side_and_nothing_runs_if_a_member_is_bad(sweep):
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "backend.command='true'",
                     "backend.timeout=range(50,150)")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 10, "one line per bad member (timeouts 50-59), found by the check's children"
    for number, line in enumerate(lines):
        assert line.startswith(f"rompy: error: member {number} (") and f"backend.timeout = {50 + number}" in line
    assert not sweep.dir.exists() and not sweep.output.exists()


COUNTING_POSTPROCESSOR = textwrap.dedent("""\
    import os

    from pydantic import model_validator

    from rompy.postprocess.base import PostprocessorConfig


    class Counted(PostprocessorConfig):
        \"\"\"Notes every validation of a member's config: its tag and the process that validated it.\"\"\"

        type: str = "countpost:Counted"
        tag: int = 0

        @model_validator(mode="after")
        def _note(self):
            with open(os.environ["COUNT_FILE"], "a") as notes:
                notes.write(f"{self.tag} {os.getpid()}\\n")
            return self

        def process(self, model_run, **kwargs):
            return {"success": True}
""")


def test_a_large_parallel_sweep_validates_each_member_once_where_it_checked_it(sweep):
    """The check's workers run what they checked with the config they validated, not a second validation."""
    (sweep.root / "countpost.py").write_text(COUNTING_POSTPROCESSOR)
    (sweep.root / "conf" / "postprocessor").mkdir(parents=True)
    (sweep.root / "conf" / "postprocessor" / "counted.yaml").write_text('type: "countpost:Counted"\ntag: 0\n')
    notes = sweep.root / "validated"
    count = 80
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "backend.command='true'",
                     "postprocessor=counted", f"postprocessor.tag=range(0,{count})", env={"COUNT_FILE": str(notes)})
    assert proc.returncode == 0, proc.stderr
    assert [line["status"] for line in sweep.lines()] == ["succeeded"] * count
    validations: dict[int, list[int]] = {}
    for line in notes.read_text().splitlines():
        tag, pid = map(int, line.split())
        validations.setdefault(tag, []).append(pid)
    assert sorted(validations) == list(range(count))
    # Member 0 is checked in the sweep's process, before the workers exist; a worker that runs
    # ahead of the other (a busy machine) may take some of its members and validate them again.
    again = [tag for tag, pids in validations.items() if len(pids) > 1]
    assert len(again) <= count // 4, f"validated again to run: {again}"


def test_a_member_weighs_the_cores_its_backend_holds_on_this_machine(monkeypatch):
    def member(backend):
        return MemberJob(0, [], "k", "r", resources=backend.resources())

    assert member_weight(member(LocalConfig(cpu=2)), 8) == 2
    assert member_weight(member(LocalConfig(cpu=16)), 8) == 8  # never more than the whole budget
    assert member_weight(member(DockerConfig(image="busybox", cpu=0.5)), 8) == 0.5
    assert member_weight(member(SlurmConfig(cpus_per_task=4)), 8) == 0  # it waits for the cluster
    for host, local in [("unix:///var/run/docker.sock", True), ("tcp://127.0.0.1:2375", True),
                        ("tcp://build-host:2375", False)]:
        monkeypatch.setenv("DOCKER_HOST", host)
        assert member_weight(member(DockerConfig(image="busybox", cpu=2)), 8) == (2 if local else 0), host


def test_plugin_modules_import_nothing_heavy():
    code = textwrap.dedent("""
        import sys
        import hydra_plugins.rompy_launchers.sweeper, hydra_plugins.rompy_launchers.sequential
        import hydra_plugins.rompy_launchers.parallel, hydra_plugins.rompy_launchers.slurm
        heavy = [m for m in ("submitit", "rompy.sweep.runner", "rompy.sweep.executors.slurm", "rompy.config", "pydantic", "docker")
                 if m in sys.modules]
        print(heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_fail_fast_stops_running_members_and_starts_no_more(sweep):
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "sweep.fail_fast=true",
                     "backend.command='sleep 30','sleep 0.5; exit 4','true','true'")
    assert proc.returncode == 1, proc.stderr
    summary = sweep.summary()
    assert [m["status"] for m in summary["members"]] == ["interrupted", "failed", "not_run", "not_run"]
    assert summary["stopped"] == "fail_fast"
    assert summary["members"][0]["duration_s"] < 20
