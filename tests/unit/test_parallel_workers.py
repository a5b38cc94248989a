"""The parallel launcher's workers, with a stand-in sweep.

The executor forks real workers; what a member does is replaced by a few lines of Python,
so these run with no model, no engine and no config.
"""

from __future__ import annotations

import gc
import os
import signal
from types import SimpleNamespace

import pytest

from rompy.errors import Interrupted
from rompy.sweep.executors import parallel
from rompy.sweep.plan import MemberJob
from rompy.sweep.records import MemberResult


@pytest.fixture(autouse=True)
def collector_as_found():
    """The executor freezes the collector before it forks, which the CLI undoes when it ends: undo it here."""
    frozen = gc.get_freeze_count()
    yield
    if not frozen:
        gc.unfreeze()


class StandInSweep:
    """What the executor asks of a sweep; it keeps what it was told."""

    def __init__(self):
        self.stopping = False
        self.stop_reason = None
        self.started_numbers: list[int] = []
        self.withdrawn_numbers: list[int] = []
        self.results: dict[int, list[MemberResult]] = {}

    def compose(self, job):
        raise RuntimeError("not composed here")

    def started(self, job):
        self.started_numbers.append(job.number)

    def not_started(self, job):
        self.withdrawn_numbers.append(job.number)

    def finished(self, job, result, was_running=True):
        self.results.setdefault(job.number, []).append(result)

    def tick(self):
        pass

    def interrupt(self, code):
        self.stopping = True


def members(tmp_path, count):
    jobs = []
    for number in range(count):
        job = MemberJob(number, [], f"k{number}", f"m{number}")
        job.run_dir = str(tmp_path / job.run_id)
        jobs.append(job)
    return jobs


def run_members(monkeypatch, tmp_path, sweep, count, member):
    """Run `count` members whose work is member(job) -> MemberResult, in two workers."""
    monkeypatch.setattr(parallel, "_run_one", lambda ctx, job, report: report(member(job)) or report.go_on)
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the sweep hung"))
    signal.alarm(60)
    try:
        parallel.ForkExecutor(cores=2).execute(members(tmp_path, count), sweep)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def short_member(job) -> MemberResult:
    os.makedirs(job.run_dir)
    return MemberResult("succeeded", 0, run_dir=job.run_dir)


def test_a_killed_worker_fails_its_member_and_the_others_run_once(monkeypatch, tmp_path):
    def member(job):
        if job.number == 4:
            os.makedirs(job.run_dir)
            os.kill(os.getpid(), signal.SIGKILL)
        return short_member(job)

    monkeypatch.setattr(parallel, "_clean_up_after_dead_worker", lambda pid, result: None)
    sweep = StandInSweep()
    run_members(monkeypatch, tmp_path, sweep, 8, member)

    assert sorted(sweep.results) == list(range(8)), "every member ended once"
    statuses = {number: [r.status for r in ends] for number, ends in sweep.results.items()}
    assert statuses.pop(4) == ["failed"] and "killed by SIGKILL" in sweep.results[4][0].message
    assert all(s == ["succeeded"] for s in statuses.values())


def test_a_worker_stopped_before_starting_its_member_gives_it_back(monkeypatch, tmp_path):
    read_number = parallel._read_number
    once = tmp_path / "stopped"

    def stopped_on_member_3(fd):
        number = read_number(fd)
        if number == 3 and not once.exists():
            once.touch()
            raise Interrupted(signal.SIGTERM)  # as a signal landing just after the read
        return number

    monkeypatch.setattr(parallel, "_read_number", stopped_on_member_3)
    sweep = StandInSweep()
    run_members(monkeypatch, tmp_path, sweep, 6, short_member)

    assert sweep.withdrawn_numbers == [3]
    assert sorted(sweep.results) == list(range(6)), "member 3 ran in another worker"
    assert all(len(ends) == 1 and ends[0].status == "succeeded" for ends in sweep.results.values())


def test_a_signal_as_a_workers_member_ends_does_not_lose_it(monkeypatch, tmp_path):
    """The member is reported as it ended, then the signal stops its worker; the others run elsewhere,
    including one the sweep had already given that worker."""
    from omegaconf import OmegaConf

    import rompy.core.time as clock

    real_utcnow, armed = clock.utcnow, []

    def utcnow():
        if armed:  # in the worker, as member 2's end is written down: its model has ended
            armed.clear()
            os.kill(os.getpid(), signal.SIGTERM)
        return real_utcnow()

    class Sweep(StandInSweep):
        callbacks = None

        def compose(self, job):
            task_cfg = OmegaConf.create({"number": job.number, "run_dir": job.run_dir})
            return SimpleNamespace(task_cfg=task_cfg, activate=lambda: None,
                                   hydra_cfg=OmegaConf.create({"hydra": {"job": {"env_set": {}}}}))

        @staticmethod
        def task_function(cfg):
            os.makedirs(cfg.run_dir)
            if cfg.number == 2:
                armed.append(True)
            return {"exit_code": 0}

    monkeypatch.setattr(clock, "utcnow", utcnow)
    sweep = Sweep()
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the sweep hung"))
    signal.alarm(60)
    try:
        parallel.ForkExecutor(cores=2).execute(members(tmp_path, 6), sweep)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    assert sorted(sweep.results) == list(range(6))
    assert all(len(ends) == 1 and ends[0].status == "succeeded" for ends in sweep.results.values()), \
        {number: [(r.status, r.message) for r in ends] for number, ends in sweep.results.items()}
