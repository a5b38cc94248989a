"""Signals and crashes during a parallel sweep: every member, local and Docker.

Real `python -m rompy -m hydra/launcher=parallel ...` processes. Local members start a
`setsid` daemon (it leaves the model's process group) and then become a long sleep, both
renamed with `exec -a <marker>` so that /proc shows what is left; Docker members sleep in a
busybox container. Each test has its own active-run registry (ROMPY_STATE_DIR).

* SIGINT / SIGTERM of the sweep: exit 130 / 143, nothing left, every record `interrupted`.
* SIGKILL of the sweep: its workers get SIGTERM from the kernel and clean up themselves
  (records `interrupted`); a later `rompy dry_run=true` start finds nothing left to do.
  Also when the SIGKILL lands while a Ctrl-C is still stopping members that ignore SIGTERM.
* SIGKILL of the sweep and of its workers: processes and containers are left, records say
  `running`; the next start removes them and marks the records `interrupted`.
* SIGKILL of the workers while the sweep goes on: the sweep removes their leftovers at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers.cli import rompy_cmd, run_rompy
from tests.helpers.docker import BUSYBOX, remove_containers
from tests.helpers.processes import children, is_running, processes_with_marker, wait_for

MEMBERS = 4
KINDS = ["local", pytest.param("docker", marks=pytest.mark.docker)]


# -- one sweep -------------------------------------------------------------------------
class SweepUnderTest:
    """A parallel sweep of MEMBERS long members, on the local or the Docker backend."""

    def __init__(self, root: Path, kind: str, docker_client=None, members: int = MEMBERS, stubborn: bool = False):
        self.root, self.kind, self.client, self.members = root, kind, docker_client, members
        self.stubborn = stubborn  # local models ignore SIGTERM (busybox's sleep as PID 1 always does)
        self.sweep_id = f"sf-{uuid.uuid4().hex[:10]}"
        self.marker = f"rompy-sweepfault-{self.sweep_id}"
        self.state = root / "state"
        self.output = root / "output"
        self.sweep_dir = root / self.sweep_id
        self.env = {**os.environ, "ROMPY_STATE_DIR": str(self.state)}
        self.env.pop("ROMPY_CONFIG_PATH", None)
        self.proc: subprocess.Popen | None = None
        self.workers: list[int] = []

    def argv(self) -> list[str]:
        # The sweep id (first part of every member's run id) is the sweep directory's name.
        common = ["-m", "hydra/launcher=parallel", f"hydra.launcher.cores={self.members}",
                  f"hydra.sweep.dir={self.sweep_dir}", f"output_dir={self.output}", "sweep.progress=plain",
                  f"+backend.env_vars.M=range(0,{self.members})"]
        if self.kind == "docker":
            return rompy_cmd(*common, "backend=docker", f"backend.image={BUSYBOX}", "backend.pull_policy=never",
                             "backend.command='echo started; sleep 300'")
        script = self.root / "model.sh"
        script.write_text("#!/bin/bash\n" + ("trap '' TERM INT\n" if self.stubborn else "") +
                          f"(setsid bash -c 'exec -a {self.marker}-daemon-$M sleep 300' &)\n"
                          f"echo started $M\nexec -a {self.marker}-model-$M sleep 300\n")
        script.chmod(0o755)
        return rompy_cmd(*common, f"backend.command='{script}'")

    def start(self) -> None:
        self.out = open(self.root / "sweep.out", "w")
        self.err = open(self.root / "sweep.err", "w")
        self.proc = subprocess.Popen(self.argv(), cwd=self.root, env=self.env, stdout=self.out, stderr=self.err)
        assert wait_for(lambda: self.left() >= self.expected_left() or self.proc.poll() is not None, 180), \
            "members did not start"
        assert self.proc.poll() is None, self.stderr()
        assert self.left() == self.expected_left()
        self.workers = children(self.proc.pid)
        assert len(self.workers) == self.members

    def expected_left(self) -> int:
        """What a started sweep has running: a model and a setsid daemon per local member, a container per Docker one."""
        return self.members * (2 if self.kind == "local" else 1)

    def containers(self) -> list[dict]:
        listed = self.client.api.containers(all=True, filters={"label": "rompy.run_id"})
        return [c for c in listed if c["Labels"].get("rompy.run_id", "").startswith(self.sweep_id)]

    def left(self) -> int:
        """Model processes (local) or containers (docker) of this sweep still there."""
        if self.kind == "docker":
            return len(self.containers())
        return len(processes_with_marker(self.marker))

    def leftovers(self) -> str:
        """What is left and what rompy said, for a failed assertion to show."""
        if self.kind == "docker":
            what = [(c["Id"][:12], c.get("State"), c.get("Status")) for c in self.containers()]
        else:
            what = processes_with_marker(self.marker)
        return f"left: {what}\nrompy's stderr:\n{self.stderr()[-4000:]}"

    def wait_nothing_left(self, timeout: float) -> int:
        wait_for(lambda: self.left() == 0, timeout, step=0.2)
        return self.left()

    def stderr(self) -> str:
        self.err.flush()
        return (self.root / "sweep.err").read_text()

    def records(self) -> list[dict]:
        paths = sorted(self.output.glob(f"{self.sweep_id}-*/rompy-result.json"))
        return [json.loads(p.read_text()) for p in paths]

    def run_dirs_intact(self) -> bool:
        dirs = sorted(self.output.glob(f"{self.sweep_id}-*"))
        return len(dirs) == self.members and all(
            (d / "rompy-result.json").is_file() and (d / "INPUT").is_file() and (d / "logs").is_dir() for d in dirs)

    def registry(self) -> list[str]:
        folder = self.state / "active"
        return sorted(p.name for p in folder.glob("*.json")) if folder.exists() else []

    def next_start(self) -> subprocess.CompletedProcess:
        return run_rompy("dry_run=true", f"output_dir={self.root / 'dry'}", cwd=self.root,
                         env={"ROMPY_STATE_DIR": str(self.state)})

    def close(self) -> None:
        """Whatever a failed assertion left: kill it (by pid, marker and label only)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        for pid in self.workers:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        for pid in processes_with_marker(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.client is not None:
            remove_containers(self.client, self.containers())
        for fh in (getattr(self, "out", None), getattr(self, "err", None)):
            if fh is not None:
                fh.close()


@pytest.fixture
def make_sweep(tmp_path, request):
    made: list[SweepUnderTest] = []

    def make(kind: str, **options) -> SweepUnderTest:
        client = request.getfixturevalue("docker_client") if kind == "docker" else None
        sweep = SweepUnderTest(tmp_path, kind, client, **options)
        made.append(sweep)
        return sweep

    yield make
    for sweep in made:
        sweep.close()


def _what(kind: str) -> str:
    return "containers_left" if kind == "docker" else "processes_left"


# -- SIGINT / SIGTERM ------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_during_a_parallel_sweep_stops_every_member(make_sweep, kind, signum, code, figures):
    sweep = make_sweep(kind)
    sweep.start()
    sweep.proc.send_signal(signum)
    assert sweep.proc.wait(timeout=120) == code, sweep.stderr()
    err = sweep.stderr()
    assert "Traceback" not in err
    left = sweep.wait_nothing_left(10)  # nothing may be left once rompy has exited; slack for /proc
    assert left == 0, sweep.leftovers()
    assert [w for w in sweep.workers if is_running(w)] == []
    records = sweep.records()
    assert len(records) == MEMBERS
    assert {r["status"] for r in records} == {"interrupted"}, records
    assert sweep.run_dirs_intact()
    summary = json.loads((sweep.sweep_dir / "summary.json").read_text())
    assert summary["exit_code"] == code and summary["counts"].get("interrupted") == MEMBERS
    assert sweep.registry() == []
    name = signal.Signals(signum).name
    figures.record(f"{name} during a {MEMBERS}-member parallel sweep ({kind} backend)",
                   members=MEMBERS, faults_injected=1, exit_code=code, **{_what(kind): left},
                   records_interrupted=sum(r["status"] == "interrupted" for r in records))


# -- SIGKILL ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_of_the_sweep_workers_clean_up_and_next_start_finds_nothing(make_sweep, kind, figures):
    sweep = make_sweep(kind)
    sweep.start()
    assert {r["status"] for r in sweep.records()} == {"running"}
    t0 = time.monotonic()
    sweep.proc.send_signal(signal.SIGKILL)
    sweep.proc.wait()
    # The workers get SIGTERM from the kernel (PR_SET_PDEATHSIG) and stop their members.
    left = sweep.wait_nothing_left(60)
    assert left == 0, f"members outlived a SIGKILLed sweep\n{sweep.leftovers()}"
    assert wait_for(lambda: not any(is_running(w) for w in sweep.workers), 30)
    cleanup_s = time.monotonic() - t0
    records = sweep.records()
    assert {r["status"] for r in records} == {"interrupted"}, records
    assert all("sweep" in r["message"] and "died" in r["message"] for r in records), records
    assert sweep.registry() == []

    nxt = sweep.next_start()
    assert nxt.returncode == 0, nxt.stderr
    assert sweep.left() == 0
    records = sweep.records()
    assert len(records) == MEMBERS and {r["status"] for r in records} == {"interrupted"}
    assert sweep.run_dirs_intact()
    figures.record(f"SIGKILL of a {MEMBERS}-member parallel sweep ({kind} backend): workers clean up, "
                   "then a new start", members=MEMBERS, faults_injected=1, **{_what(kind): 0},
                   records_interrupted=len(records), records_left_running=0, cleanup_s=round(cleanup_s, 1))


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_of_the_sweep_while_its_members_stop_does_not_cut_their_cleanup_short(make_sweep, kind, figures):
    """Ctrl-C, then SIGKILL while the workers wait out models that ignore SIGTERM: the
    kernel's SIGTERM to the workers must not abort the stop already under way."""
    sweep = make_sweep(kind, stubborn=True)
    sweep.start()
    sweep.proc.send_signal(signal.SIGINT)
    time.sleep(1.0)  # the stop waits up to the 5 s grace: the models ignore SIGTERM
    stopping = sweep.left()
    assert stopping > 0, "the SIGKILL should land while members are being stopped"
    sweep.proc.send_signal(signal.SIGKILL)
    sweep.proc.wait()
    left = sweep.wait_nothing_left(60)
    assert left == 0, f"a second signal cut a member's cleanup short\n{sweep.leftovers()}"
    assert wait_for(lambda: not any(is_running(w) for w in sweep.workers), 30)
    records = sweep.records()
    assert len(records) == MEMBERS and {r["status"] for r in records} == {"interrupted"}, records
    assert sweep.registry() == []
    nxt = sweep.next_start()
    assert nxt.returncode == 0, nxt.stderr
    assert sweep.left() == 0
    assert sweep.run_dirs_intact()
    figures.record(f"SIGINT then SIGKILL of a {MEMBERS}-member parallel sweep while members that ignore "
                   f"SIGTERM are being stopped ({kind} backend)", members=MEMBERS, faults_injected=2,
                   still_stopping_at_sigkill=stopping, **{_what(kind): left}, records_interrupted=len(records),
                   records_left_running=0)


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_of_the_sweep_and_its_workers_is_cleaned_up_next_start(make_sweep, kind, figures):
    sweep = make_sweep(kind)
    sweep.start()
    # Freeze the sweep so that it cannot react, kill every worker, then the sweep: nobody cleans up.
    sweep.proc.send_signal(signal.SIGSTOP)
    for pid in sweep.workers:
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not any(is_running(w) for w in sweep.workers), 10)
    sweep.proc.send_signal(signal.SIGKILL)
    sweep.proc.wait()
    time.sleep(0.5)
    left_behind = sweep.left()
    assert left_behind == sweep.expected_left(), "the killed workers' models should still be there"
    assert {r["status"] for r in sweep.records()} == {"running"}
    assert len(sweep.registry()) == MEMBERS

    nxt = sweep.next_start()
    assert nxt.returncode == 0, nxt.stderr
    left = sweep.wait_nothing_left(30)
    assert left == 0, sweep.leftovers()
    records = sweep.records()
    assert len(records) == MEMBERS and {r["status"] for r in records} == {"interrupted"}, records
    assert sweep.registry() == []
    assert sweep.run_dirs_intact()
    figures.record(f"SIGKILL of a {MEMBERS}-member parallel sweep and of its workers ({kind} backend), "
                   "then a new start", members=MEMBERS, faults_injected=1 + MEMBERS,
                   left_by_the_crash=left_behind, **{_what(kind): left}, records_interrupted=len(records),
                   records_left_running=0)


@pytest.mark.parametrize("kind", KINDS)
def test_killed_workers_are_cleaned_up_by_the_running_sweep(make_sweep, kind, figures):
    sweep = make_sweep(kind)
    sweep.start()
    for pid in sweep.workers:
        os.kill(pid, signal.SIGKILL)
    assert sweep.proc.wait(timeout=120) == 1, sweep.stderr()
    assert "Traceback" not in sweep.stderr()
    left = sweep.wait_nothing_left(10)
    assert left == 0, f"a running sweep removes what its killed workers left\n{sweep.leftovers()}"
    records = sweep.records()
    assert len(records) == MEMBERS and {r["status"] for r in records} == {"failed"}, records
    summary = json.loads((sweep.sweep_dir / "summary.json").read_text())
    assert all(m["status"] == "failed" and "killed by SIGKILL" in m["message"] for m in summary["members"])
    assert all(m["started_at"] and m["finished_at"] for m in summary["members"])
    assert sweep.registry() == []
    figures.record(f"SIGKILL of every worker of a running {MEMBERS}-member parallel sweep ({kind} backend)",
                   members=MEMBERS, faults_injected=MEMBERS, **{_what(kind): left},
                   records_failed=len(records), records_left_running=0)
