"""The parallel launcher: members side by side, as many as the cores and their weights allow."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime


from rompy.backends import DockerConfig, LocalConfig, SlurmConfig
from rompy.sweep.executors.parallel import member_weight
from rompy.sweep.plan import MemberJob


def _intervals(lines):
    return [(datetime.fromisoformat(l["started_at"]).timestamp(), datetime.fromisoformat(l["finished_at"]).timestamp())
            for l in lines]


def _max_overlap(intervals):
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def test_members_run_side_by_side_within_the_core_budget(sweep):
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "backend.command='sleep 1.5'",
                     "+backend.env_vars.M=range(0,4)")
    assert proc.returncode == 0, proc.stderr
    lines = sweep.lines()
    assert len(lines) == 4 and all(l["status"] == "succeeded" for l in lines)
    assert all(l["launcher"] == "parallel" for l in lines)
    assert _max_overlap(_intervals(lines)) == 2
    starts, ends = zip(*_intervals(lines))
    assert max(ends) - min(starts) < 6.0  # two waves of 1.5 s, not four (slack for a loaded machine)


def test_member_cpu_is_its_weight(sweep):
    proc = sweep.run("hydra/launcher=parallel", "hydra.launcher.cores=2", "backend.cpu=2",
                     "backend.command='sleep 0.5'", "+backend.env_vars.M=range(0,3)")
    assert proc.returncode == 0, proc.stderr
    assert _max_overlap(_intervals(sweep.lines())) == 1


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
