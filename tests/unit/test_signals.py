"""Ctrl-C and SIGTERM arriving while a sweep records what its members did.

A signal is raised as `Interrupted` wherever the main thread is; in the middle of reading
a task's progress file it lost members that had finished (the sweep said they failed and
had not started, while their records said succeeded). Bookkeeping now runs in `held()`
blocks, at whose end the signal is raised.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from rompy.errors import Interrupted
from rompy.runtime.signals import held, interrupt_on_first_signal, interruptible


def test_a_signal_inside_a_held_block_is_raised_when_the_block_ends():
    done = []
    with interruptible():
        with pytest.raises(Interrupted) as caught:
            with held():
                os.kill(os.getpid(), signal.SIGTERM)
                with held():
                    done.append("inner")
                done.append("rest of the outer block")
            done.append("after the block")
    assert caught.value.exit_code == 143
    assert done == ["inner", "rest of the outer block"]


def test_outside_a_held_block_a_signal_is_raised_at_once():
    done = []
    with interruptible():
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between two bytecodes of these
                pass
            done.append("not reached")
    assert not done


def test_a_process_forked_inside_a_held_block_is_not_held():
    """A sweep worker is forked while the sweep hands out members in a held block."""
    read_fd, write_fd = os.pipe()
    with interruptible(), held():
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(read_fd)
            interrupt_on_first_signal()
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):
                    pass
                os.write(write_fd, b"held")
            except Interrupted:
                os.write(write_fd, b"interrupted")
            os._exit(0)
        os.close(write_fd)
        _, status = os.waitpid(pid, 0)
    with os.fdopen(read_fd, "rb") as fh:
        assert fh.read() == b"interrupted"
    assert os.waitstatus_to_exitcode(status) == 0


# -- the SLURM sweep ----------------------------------------------------------------------
class _CompletedTask:
    """submitit's Job for an array task sacct says COMPLETED, with its result written."""

    def __init__(self, folder: Path):
        result = folder / "result.pkl"
        result.write_bytes(b"")
        self.job_id = "7_0"
        self.paths = SimpleNamespace(result_pickle=result)
        self.watcher = SimpleNamespace(update=lambda: None, get_state=lambda job_id, mode: "COMPLETED")
        self.cancelled = False

    def cancel(self, check: bool = False) -> None:
        self.cancelled = True


class _SweepSignalledOnFirstStart:
    """The sweep's side: records each member's end; SIGTERM reaches it as the first member is reported started."""

    callbacks = None

    def __init__(self):
        self.stopping, self.stop_reason = False, None
        self.interrupt_code = None
        self.ended: dict[int, tuple[str, str]] = {}

    def started(self, job) -> None:
        if job.number == 0:
            os.kill(os.getpid(), signal.SIGTERM)

    def finished(self, job, result, was_running: bool = True) -> None:
        self.ended[job.number] = (result.status, result.message)

    def interrupt(self, code: int) -> None:
        self.interrupt_code = self.interrupt_code or code
        self.stopping, self.stop_reason = True, self.stop_reason or "interrupted"

    def tick(self) -> None:
        pass


def test_sigterm_while_the_sweep_reads_a_finished_task_keeps_every_member_it_reported(tmp_path):
    from rompy.core.time import utcnow
    from rompy.sweep.executors.slurm import Pack, SlurmExecutor, _Tracked
    from rompy.sweep.plan import MemberJob
    from rompy.sweep.records import MemberResult

    jobs = [MemberJob(n, [f"+M={n}"], f"M={n}", f"sweep-{n}") for n in range(3)]
    progress = tmp_path / "pack-0.jsonl"
    with open(progress, "w") as fh:
        for job in jobs:
            now = utcnow().isoformat()
            fh.write(json.dumps({"member": job.number, "event": "started", "at": now}) + "\n")
            result = MemberResult("succeeded", 0, "", started_at=now, finished_at=now, duration_s=0.1)
            fh.write(json.dumps({"member": job.number, "event": "ended", "result": result.to_dict()}) + "\n")
    task = _CompletedTask(tmp_path)
    tracked = _Tracked(pack=Pack(0, jobs, 1, progress), sjob=task, timeout_s=3600)
    sweep = _SweepSignalledOnFirstStart()

    with interruptible():
        SlurmExecutor({"poll_s": 0.01})._watch([tracked], sweep)

    assert sweep.interrupt_code == 143, "the SIGTERM stopped the sweep"
    assert sweep.ended == {n: ("succeeded", "") for n in range(3)}, "what the task reported is kept"
    assert not task.cancelled, "a task that had ended is not cancelled"


def test_a_signal_as_a_sequential_member_ends_does_not_lose_it(monkeypatch):
    """The signal lands while the member's end is being written down: it is recorded, then the sweep stops."""
    from omegaconf import OmegaConf

    import rompy.core.time as clock
    import rompy.sweep.executors.sequential as sequential

    real_utcnow, calls = clock.utcnow, []

    def utcnow():
        calls.append(1)
        if len(calls) == 2:  # the member's end time: its model has ended
            os.kill(os.getpid(), signal.SIGTERM)
        return real_utcnow()

    monkeypatch.setattr(clock, "utcnow", utcnow)
    member = SimpleNamespace(task_cfg=OmegaConf.create({}), activate=lambda: None,
                             hydra_cfg=OmegaConf.create({"hydra": {"job": {"env_set": {}}}}))

    class Sweep:
        stopping, callbacks = False, None
        ended: dict = {}

        @staticmethod
        def task_function(cfg):
            return {"exit_code": 0}

        def prepare(self, job):
            return member

        def started(self, job):
            pass

        def finished(self, job, result):
            self.ended[job.number] = result.status

    sweep = Sweep()
    jobs = [SimpleNamespace(number=n, run_dir=None) for n in range(3)]
    with interruptible():
        with pytest.raises(Interrupted):
            sequential.InProcessExecutor().execute(jobs, sweep)
    assert sweep.ended == {0: "succeeded"}


def test_a_signal_while_a_third_party_launchers_batch_is_recorded_keeps_the_whole_batch():
    """Hydra's own launchers return a whole batch: a signal as it is written down stops the sweep after it."""
    from hydra.core.utils import JobReturn, JobStatus

    from rompy.sweep.executors.hydra import HydraLauncherExecutor

    class Launcher:
        def launch(self, overrides, initial_job_idx):
            returns = []
            for _ in overrides:
                ret = JobReturn()
                ret.status, ret._return_value = JobStatus.COMPLETED, {"exit_code": 0}
                returns.append(ret)
            return returns

    class Sweep:
        ended: dict = {}

        def started(self, job):
            pass

        def finished(self, job, result):
            if not self.ended:
                os.kill(os.getpid(), signal.SIGTERM)
            self.ended[job.number] = result.status

    sweep = Sweep()
    jobs = [SimpleNamespace(number=n, launch_overrides=[f"x={n}"]) for n in range(3)]
    with interruptible():
        with pytest.raises(Interrupted):
            HydraLauncherExecutor(Launcher()).execute(jobs, sweep)
    assert sweep.ended == {0: "succeeded", 1: "succeeded", 2: "succeeded"}
