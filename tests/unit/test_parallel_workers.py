"""The parallel launcher's workers, with a stand-in sweep.

The executor forks real workers; what a member does is replaced by a few lines of Python,
so these run with no model, no engine and no config.
"""

from __future__ import annotations

import gc
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from rompy.errors import Interrupted
from rompy.sweep.executors import forked, parallel
from rompy.sweep.plan import MemberJob
from rompy.sweep.records import MemberResult
from tests.helpers.processes import stat_fields


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
    read_number = forked.read_number
    once = tmp_path / "stopped"

    def stopped_on_member_3(fd):
        number = read_number(fd)
        if number == 3 and not once.exists():
            once.touch()
            raise Interrupted(signal.SIGTERM)  # as a signal landing just after the read
        return number

    monkeypatch.setattr(forked, "read_number", stopped_on_member_3)
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


class CheckingSweep(StandInSweep):
    """A stand-in whose members are composed, checked and run in a few lines; each composition
    leaves a file, so a test can count them across the worker processes."""

    callbacks = None

    def __init__(self, folder):
        super().__init__()
        self.folder = folder
        self.kept, self.keep_at_most = {}, 0
        self.sweep_lock = None

    def compose(self, job):
        from omegaconf import OmegaConf

        member = self.kept.pop(job.number, None)
        if member is not None:
            return member
        (self.folder / f"composed-{job.number}-{os.getpid()}").touch()
        task_cfg = OmegaConf.create({"run_dir": job.run_dir})
        return SimpleNamespace(task_cfg=task_cfg, activate=lambda: None,
                               hydra_cfg=OmegaConf.create({"hydra": {"job": {"env_set": {}}}}))

    def keep(self, job, member):
        if len(self.kept) < self.keep_at_most:
            self.kept[job.number] = member

    def check(self, job):
        self.keep(job, self.compose(job))
        return SimpleNamespace(number=job.number, run_dir=job.run_dir)

    @staticmethod
    def task_function(cfg):
        os.makedirs(cfg.run_dir)
        (Path(cfg.run_dir) / "pid").write_text(str(os.getpid()))
        open_files = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
        (Path(cfg.run_dir) / "open").write_text("\n".join(sorted(open_files)))
        return {"exit_code": 0}


def checked_then_run(tmp_path, count, stop_after_check=False):
    """check_all then execute, as a sweep does; (the sweep, the checking workers' pids)."""
    folder = tmp_path / "marks"
    folder.mkdir()
    sweep = CheckingSweep(folder)
    executor = parallel.ForkExecutor(cores=2)
    jobs = members(tmp_path, count)
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the sweep hung"))
    signal.alarm(60)
    try:
        checks = executor.check_all(jobs, sweep, sweep.check)
        pids = [worker.pid for worker in executor._checked]
        assert sorted(check.number for check in checks) == list(range(count))
        # As a sweep claims its folder once checked (claim_sweep_dir): after the workers were forked.
        sweep.sweep_lock = os.open(tmp_path / "sweep.lock", os.O_RDWR | os.O_CREAT)
        if not stop_after_check:
            executor.execute(jobs, sweep)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        executor.release()
        if sweep.sweep_lock is not None:
            os.close(sweep.sweep_lock)
    return sweep, pids


def test_a_large_sweep_composes_each_member_once_in_the_worker_that_checked_it(tmp_path):
    count = 2 * forked.CHECK_SIDE_BY_SIDE_FROM
    sweep, pids = checked_then_run(tmp_path, count)

    assert len(pids) == 2, "one checking worker per core"
    assert sorted(sweep.results) == list(range(count))
    late = {number: place - number for place, number in enumerate(sweep.started_numbers)
            if abs(place - number) > 2 * parallel.WINDOW_PER_WORKER}
    assert not late, f"members start in about sweep order; started that many places off: {late}"
    assert all(ends[0].status == "succeeded" for ends in sweep.results.values())
    composed = [name.split("-") for name in os.listdir(tmp_path / "marks")]
    by_member = {}
    for _, number, pid in composed:
        by_member.setdefault(int(number), []).append(int(pid))
    # Member 0 is checked by the sweep itself (it warms up what the workers inherit); every other
    # member is composed once, by the worker that checked it, and runs there; a worker that runs
    # ahead of the other (a busy machine) takes some of the other's members, composing them again.
    assert sorted(by_member) == list(range(count))
    twice = [number for number, where in by_member.items() if len(where) > 1]
    assert len(twice) <= count // 2, f"composed again to run: {twice}"
    ran_where_checked = sum(Path(tmp_path / f"m{number}" / "pid").read_text() == str(where[0])
                            for number, where in by_member.items() if number)
    assert ran_where_checked >= (count - 1) // 2
    assert not any(is_alive(pid) for pid in pids)
    lock = str(tmp_path / "sweep.lock")
    assert all(lock in (tmp_path / f"m{n}" / "open").read_text().splitlines() for n in range(count)), \
        "every worker holds the sweep's lock, so that a killed sweep's folder stays held while its members stop"


def test_workers_forked_for_the_check_end_when_the_sweep_runs_nothing(tmp_path):
    """A sweep with a bad member, or a dry run, ends after the check: its workers end with it."""
    sweep, pids = checked_then_run(tmp_path, forked.CHECK_SIDE_BY_SIDE_FROM, stop_after_check=True)

    assert len(pids) == 2 and not any(is_alive(pid) for pid in pids)
    assert not sweep.results and not list(tmp_path.glob("m[0-9]*")), "no member ran"


def test_a_signal_during_the_check_leaves_no_worker(tmp_path):
    import time

    class SlowCheck(CheckingSweep):
        def check(self, job):
            time.sleep(0.05)
            return super().check(job)

    sweep = SlowCheck(tmp_path)
    executor = parallel.ForkExecutor(cores=2)
    forked = []
    spawn = executor._spawn

    def spawn_and_note(*args, **kwargs):
        worker = spawn(*args, **kwargs)
        forked.append(worker.pid)
        return worker

    executor._spawn = spawn_and_note
    interrupted_a_second_in(lambda: executor.check_all(members(tmp_path, 200), sweep, sweep.check))
    assert len(forked) == 2 and not any(is_alive(pid) for pid in forked)
    assert not executor._checked


def interrupted_a_second_in(call) -> None:
    """Run `call`, which a second in is interrupted as by Ctrl-C; the interrupt must come out of it."""
    def interrupt(*_):
        raise Interrupted(signal.SIGINT)

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(Interrupted):
            call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def is_alive(pid: int) -> bool:
    """The process is still there, if only as a zombie nobody waited for."""
    return stat_fields(pid) is not None


# -- a one-by-one launcher's whole-sweep check, shared with forked children --------------
def _marks(folder) -> dict[int, list[int]]:
    """Member number -> the pids of the processes that composed it."""
    by_member: dict[int, list[int]] = {}
    for name in os.listdir(folder):
        _, number, pid = name.split("-")
        by_member.setdefault(int(number), []).append(int(pid))
    return by_member


def _checking_sweep(tmp_path):
    folder = tmp_path / "marks"
    folder.mkdir()
    return CheckingSweep(folder), folder


def test_a_large_sequential_sweep_is_checked_here_and_in_a_child_each_member_once(tmp_path, monkeypatch):
    from rompy.sweep.executors.sequential import InProcessExecutor

    monkeypatch.setattr(forked, "usable_cores", lambda: 2)
    sweep, folder = _checking_sweep(tmp_path)
    count = 2 * forked.CHECK_SIDE_BY_SIDE_FROM

    checks = list(InProcessExecutor().check_all(members(tmp_path, count), sweep, sweep.check))

    assert sorted(check.number for check in checks) == list(range(count))
    by_member = _marks(folder)
    assert sorted(by_member) == list(range(count)) and all(len(pids) == 1 for pids in by_member.values())
    pids = {pid for (pid,) in by_member.values()}
    assert os.getpid() in pids and len(pids) == 2, "this process and one child check side by side"
    assert not any(is_alive(pid) for pid in pids - {os.getpid()}), "the child ends once it has reported"
    assert InProcessExecutor().check_all(members(tmp_path, forked.CHECK_SIDE_BY_SIDE_FROM - 1), sweep,
                                         sweep.check) is None, "a small sweep is checked here alone"


def test_a_checking_child_that_dies_has_the_rest_of_its_share_checked_here(tmp_path, monkeypatch):
    """The child reports as it goes: what it reported before it died is not checked again."""
    from rompy.sweep.executors.sequential import InProcessExecutor

    monkeypatch.setattr(forked, "usable_cores", lambda: 2)
    sweep, folder = _checking_sweep(tmp_path)
    here, in_child = os.getpid(), []

    def check(job):
        if os.getpid() != here:
            in_child.append(job.number)
            if len(in_child) > forked.CHECKS_PER_FRAME + 10:
                os._exit(9)  # as the kernel's OOM killer would end it
        return sweep.check(job)

    checks = list(InProcessExecutor().check_all(members(tmp_path, 1001), sweep, check))

    assert sorted(c.number for c in checks) == list(range(1001)), "every member's check, once"
    by_member = _marks(folder)
    child = {pid for pids in by_member.values() for pid in pids} - {here}
    reported_by_child = [n for n, pids in by_member.items() if pids == list(child)]
    assert len(child) == 1 and len(reported_by_child) == forked.CHECKS_PER_FRAME
    assert all(here in pids for n, pids in by_member.items() if n not in reported_by_child)


def test_a_signal_during_a_shared_check_leaves_no_child(tmp_path, monkeypatch):
    import time

    from rompy.sweep.executors.sequential import InProcessExecutor

    monkeypatch.setattr(forked, "usable_cores", lambda: 2)
    sweep, _ = _checking_sweep(tmp_path)
    children = []
    fork = forked.fork
    monkeypatch.setattr(forked, "fork", lambda body: children.append(fork(body)) or children[-1])

    def slow_check(job):
        time.sleep(0.05)
        return sweep.check(job)

    interrupted_a_second_in(lambda: list(InProcessExecutor().check_all(members(tmp_path, 200), sweep, slow_check)))
    assert len(children) == 1 and not is_alive(children[0])
