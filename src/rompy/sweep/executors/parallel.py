"""Parallel executor: members side by side in persistent forked workers, sized by cores.

A worker is forked from the sweep once and then runs member after member: it starts as a
copy of the sweep process, with Hydra, the task and the composed templates in memory, so
a member costs what it costs in the sequential launcher, not a new process. The sweep
sends a worker a member's number; the worker composes and runs that member and sends
back its result. Members start in about sweep order while the cores they hold on this machine
(their backend's `resources().local_cpus`) fit the budget (`cores`, default: the cores
this process may use) and at most `max_workers` run; a member heavier than the budget
runs alone. A large sweep's whole-sweep check is split across the first workers, one per
core: each checks every n-th member and keeps what it composed, and is then given those
members first, so that a member is composed once. Each worker is its own process group:
a Ctrl-C reaches only the sweep, which passes it on once to the workers whose members run.

Faults: a SIGKILLed sweep's workers get SIGTERM from the kernel (PR_SET_PDEATHSIG) and
stop their members as on Ctrl-C, noting in the record that the sweep died; an idle one
just ends. A SIGKILLed worker is cleaned up by the sweep at once (its runs are registered
under the worker's pid), or by the next rompy start if the sweep died too; its member is
recorded as failed and a new worker takes the next member. A worker whose member was
interrupted is not used again: it has spent its one signal. Forking, the frames on the pipes
and the shared check are rompy.sweep.executors.forked's. docs/architecture.md has the picture.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from rompy.errors import EXIT_RUN_FAILED, Interrupted
from rompy.runtime import signals
from rompy.sweep.executors import forked
from rompy.sweep.member import flush_std_streams, run_member, settle_record
from rompy.sweep.records import MemberResult

log = logging.getLogger("rompy.sweep")

#: Checked members a worker keeps composed for their run (about 30 kB each); beyond, it composes them again.
KEPT_PER_WORKER = 1000
#: A worker that ran ahead of the others may start one of its own members this many places per worker early.
WINDOW_PER_WORKER = 4


@dataclass
class _Worker(forked.Worker):
    """A worker that runs members, and what it runs."""

    job: object = None        # the member it runs, None while idle
    weight: float = 0.0
    started_at: str | None = None
    signalled: set = field(default_factory=set)
    holds: set = field(default_factory=set)  # members it composed in the check and keeps for their run


class ParallelSettings(BaseModel):
    """`hydra/launcher=parallel`'s keys."""

    model_config = ConfigDict(extra="forbid")

    cores: Optional[float] = Field(None, gt=0, description="Cores the members share; null: the cores this process may use.")
    max_workers: Optional[int] = Field(None, ge=1, description="Worker processes at most; null: 4 per core.")
    poll_s: float = Field(0.25, gt=0, description="How often a stopping sweep looks at its workers.")


class ForkExecutor:
    name = "parallel"

    def __init__(self, cores: float | None = None, max_workers: int | None = None, poll_s: float = 0.25):
        self.cores = cores
        self.max_workers = max_workers
        self.poll_s = poll_s
        self._checked: list[_Worker] = []  # forked for the check, waiting for members

    def _budget(self) -> float:
        return float(self.cores or forked.usable_cores())

    # -- the whole-sweep check -------------------------------------------------------
    def check_all(self, jobs, ctx, check_one) -> list | None:
        """check_one over every member, split across the first workers; None: check them here.

        Each worker checks every n-th member and keeps what it composed, so the members it
        is then given from its share are composed once. The workers wait, checked, until
        the sweep hands them members (execute) or lets them go (release).
        """
        children = min(int(self._budget() + 0.999), len(jobs) // (forked.CHECK_SIDE_BY_SIDE_FROM // 2))
        if len(jobs) < forked.CHECK_SIDE_BY_SIDE_FROM or children < 2:
            return None
        first = check_one(jobs[0])  # composes the template and imports the run path once, for every worker
        _import_run_path()
        rest = jobs[1:]
        by_number = {job.number: job for job in jobs}
        checking: dict[int, tuple[_Worker, list]] = {}

        def reported(worker, share) -> None:
            worker.holds = {job.number for job in share[:KEPT_PER_WORKER]}
            self._checked.append(worker)

        try:
            for share in (rest[k::children] for k in range(children)):
                worker = self._spawn(ctx, by_number, [w for w, _ in checking.values()], share, check_one)
                checking[worker.from_worker] = (worker, share)
            checks = [first]
            while checking:
                checks.extend(forked.read_checks(checking, check_one, reported))
        except BaseException:
            forked.stop_checking(checking)  # interrupted: leave no worker behind
            self.release()
            raise
        return sorted(checks, key=lambda check: check.number)

    def release(self) -> None:
        """End the workers the check forked that no member was given to."""
        while self._checked:
            forked.retire(self._checked.pop())

    # -- running -------------------------------------------------------------------------
    def execute(self, jobs, ctx) -> None:
        budget = self._budget()
        max_workers = int(self.max_workers or max(1, 4 * int(budget + 0.999)))
        by_number = {job.number: job for job in jobs}
        queue = deque(jobs)
        idle = [worker for worker in self._checked if _hand_lock(worker, getattr(ctx, "sweep_lock", None))]
        self._checked = []
        holders = {number: worker for worker in idle for number in worker.holds}
        window = WINDOW_PER_WORKER * len(idle) or 1  # how far ahead a worker looks for a member it holds
        busy: dict[int, _Worker] = {}
        used = 0.0
        if jobs and not idle:
            self._warm_up(ctx, jobs[0])

        def fill() -> None:
            """Start queued members while their weights fit the budget and a worker is free or can be forked."""
            nonlocal used
            from rompy.core.time import utcnow

            while queue and not ctx.stopping:
                weight = member_weight(queue[0], budget)
                if busy and used + weight > budget + 1e-9:
                    return
                if idle:
                    worker = idle.pop()
                elif len(busy) < max_workers:
                    worker = self._spawn(ctx, by_number, [*busy.values(), *idle])
                else:
                    return
                at = _next_for(worker, queue, holders, window, weight, budget)
                job = queue[at]
                if not _send(worker, job.number):  # it died while idle
                    forked.retire(worker)
                    continue
                del queue[at]
                worker.job, worker.weight, worker.started_at = job, weight, utcnow().isoformat()
                busy[worker.from_worker] = worker
                used += weight
                ctx.started(job)

        # Handing out members and recording what workers report run in held blocks: a
        # Ctrl-C or SIGTERM half-way would lose a started worker or a result already read.
        try:
            while True:
                try:
                    with signals.held():
                        fill()
                        if ctx.stopping:
                            self._stop_workers(busy, ctx)
                            while idle:
                                forked.retire(idle.pop())
                        if not busy:
                            if not queue or ctx.stopping:
                                return
                            continue
                    ready, _, _ = select.select(list(busy), [], [], self.poll_s)
                    with signals.held():
                        ended = []
                        for fd in ready:
                            worker = busy[fd]
                            chunk = os.read(fd, 65536)
                            if chunk:
                                worker.data.extend(chunk)
                                body = worker.message()
                                if body is None:
                                    continue
                                result = MemberResult.from_dict(json.loads(body.decode("utf-8")))
                            else:
                                result = self._ended_without_report(worker)
                            del busy[fd]
                            used = max(0.0, used - worker.weight)
                            job, worker.job = worker.job, None
                            if result is None:  # it stopped before starting its member
                                ctx.not_started(job)
                                if not ctx.stopping:
                                    queue.appendleft(job)
                                forked.retire(worker)
                                continue
                            if not chunk or result.status == "interrupted" or worker.signalled:
                                forked.retire(worker)
                            else:
                                idle.append(worker)
                            ended.append((job, result))
                        if all(result.status == "succeeded" for _, result in ended):
                            fill()  # the freed cores first; recording what ended can wait that long
                        for job, result in ended:
                            ctx.finished(job, result)
                        ctx.tick()
                except Interrupted as exc:
                    ctx.interrupt(exc.exit_code)
                    self._forward(busy, exc.signum)
        finally:
            for worker in idle:  # told to end: they read the end of their pipe and exit
                forked.retire(worker)
            for worker in busy.values():  # only on an unexpected error: leave nothing behind
                forked.kill_and_wait(worker.pid)
                forked.close(worker.to_worker, worker.from_worker)

    def _warm_up(self, ctx, job) -> None:
        """Compose and validate the first member in the sweep process before forking.

        Forked workers inherit the sweep's modules and composed templates; without this
        each worker would import the run path and the backend, and compose the templates,
        again, on the cores the members need. Errors are the member's to report.
        """
        try:
            from rompy._hydra import hydra_job
            from rompy.cli.app import validate

            _import_run_path()
            member = ctx.compose(job)
            member.activate()
            with hydra_job(member.hydra_cfg):
                validate(member.task_cfg)
        except Exception:  # noqa: BLE001 - the member reports its own errors
            pass

    def _spawn(self, ctx, by_number, others, share=None, check_one=None) -> _Worker:
        """Fork a worker; with `share`, it checks those members first, reports the checks and
        waits for the sweep's lock (_hand_lock) before its first member."""
        to_read, to_write = (end.detach() for end in socket.socketpair())  # a socket carries the lock
        from_read, from_write = os.pipe()
        inherited = [fd for worker in [*others, *self._checked]
                     for fd in (worker.to_worker, worker.from_worker)]
        sweep_pid = os.getpid()

        def serve() -> None:
            for fd in (*inherited, to_write, from_read):
                forked.close(fd)
            if share is not None:
                forked.check_share(ctx, by_number, share, check_one, from_write, sweep_pid, KEPT_PER_WORKER)
                if not _receive_lock(to_read):  # released: the sweep runs nothing
                    return
            _serve(ctx, by_number, to_read, from_write, sweep_pid)

        pid = forked.fork(serve)
        forked.close(to_read, from_write)
        return _Worker(pid=pid, to_worker=to_write, from_worker=from_read)

    @staticmethod
    def _ended_without_report(worker: _Worker) -> MemberResult | None:
        """The worker's process ended and its member was not reported.

        None if it exited cleanly and the member's run directory does not exist: it never
        started that member (a signal stopped it as it read the number, or just after it
        reported the one before). Otherwise it died under its member (SIGKILL, OOM, a task
        that called os._exit): the member failed, and what the worker left running is
        cleaned up now.
        """
        from rompy.core.time import utcnow

        pid, worker.pid = worker.pid, 0  # reaped here
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = None
        run_dir = worker.job.run_dir
        if status == 0 and not (run_dir and os.path.exists(run_dir)):
            return None
        if status is not None and os.WIFSIGNALED(status):
            how = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            how = "ended" if status is None else f"exited with code {os.waitstatus_to_exitcode(status)}"
        result = MemberResult("failed", EXIT_RUN_FAILED, f"worker process {how} before reporting",
                              started_at=worker.started_at, finished_at=utcnow().isoformat(),
                              run_dir=run_dir)
        _clean_up_after_dead_worker(pid, result)
        return result

    def _stop_workers(self, busy, ctx) -> None:
        """fail_fast: stop running members once (they report interrupted)."""
        if ctx.stop_reason == "fail_fast":
            self._forward(busy, signal.SIGTERM)

    @staticmethod
    def _forward(busy, signum: int) -> None:
        for worker in busy.values():
            if signum in worker.signalled:
                continue
            worker.signalled.add(signum)
            try:
                os.kill(worker.pid, signum)
            except ProcessLookupError:
                pass


# -- inside a worker -----------------------------------------------------------------
def _serve(ctx, by_number, commands: int, results: int, sweep_pid: int) -> None:
    """A worker's life: read a member number, compose and run that member, report its result; until told to end."""
    # Ctrl-C forwarded by the sweep, then SIGTERM when the sweep is killed: a second
    # signal must not cut short the stop the first one started (rompy.runtime.signals).
    signals.interrupt_on_first_signal()
    try:
        forked.die_with_parent(sweep_pid)
        while True:
            number = forked.read_number(commands)
            if number is None:  # the sweep closed our pipe (or died): nothing more to run
                return
            if not _run_one(ctx, by_number[number], _Report(results, sweep_pid)):
                return
    except Interrupted:  # stopped while idle
        return


class _Report:
    """Sends one member's result to the sweep, once.

    Called by run_member before a signal that lands as the member ends takes effect, so
    that a member whose model ended is reported whatever follows.
    """

    def __init__(self, fd: int, sweep_pid: int):
        self.fd, self.sweep_pid = fd, sweep_pid
        self.result: MemberResult | None = None

    def __call__(self, result: MemberResult) -> None:
        if self.result is not None:
            return
        self.result = result
        if os.getppid() != self.sweep_pid:  # nobody will read the report: say it in the record
            _note_sweep_died(result.run_dir, self.sweep_pid)
            return
        flush_std_streams()
        forked.write_frame(self.fd, json.dumps(result.to_dict(), default=str).encode("utf-8"))

    @property
    def go_on(self) -> bool:
        """May this worker take another member: reported, not interrupted, its sweep alive."""
        return (self.result is not None and self.result.status != "interrupted"
                and os.getppid() == self.sweep_pid)


def _run_one(ctx, job, report: _Report) -> bool:
    """Compose and run one member and report how it ended; False: this worker ends now."""
    try:
        try:
            member = ctx.compose(job)
        except Exception as exc:  # noqa: BLE001 - one line, the member failed
            report(ctx.composition_failure(job, exc))
        else:
            run_member(ctx.task_function, member, ctx.callbacks, job.run_dir, report=report)
    except Interrupted as exc:  # before the member ended, or just after it was reported
        report(MemberResult("interrupted", exc.exit_code, f"interrupted ({exc})", run_dir=job.run_dir))
        return False
    except BaseException as exc:
        report(MemberResult("failed", EXIT_RUN_FAILED, f"worker error: {type(exc).__name__}: {exc}",
                            run_dir=job.run_dir))
    return report.go_on


# -- processes and pipes ---------------------------------------------------------------
def _hand_lock(worker: _Worker, lock: int | None) -> bool:
    """Give a worker forked before the sweep claimed its folder a descriptor of the folder's lock,
    as later workers inherit it (rompy.sweep.lock.claim_sweep_dir); False: the worker is gone."""
    try:
        with socket.socket(fileno=os.dup(worker.to_worker)) as channel:
            if lock is None:
                channel.sendmsg([b"L"])
            else:
                socket.send_fds(channel, [b"L"], [lock])
        return True
    except OSError:
        forked.retire(worker)
        return False


def _receive_lock(commands: int) -> bool:
    """In a worker forked for the check: wait for the sweep's lock, kept open as long as the
    worker lives; False if the sweep let the worker go instead."""
    with socket.socket(fileno=os.dup(commands)) as channel:
        message, fds, _, _ = socket.recv_fds(channel, 1, 1)
    for fd in fds:  # as the sweep's own: not passed on to the models this worker starts
        os.set_inheritable(fd, False)
    return bool(message)


def _next_for(worker: _Worker, queue, holders: dict, window: int, weight: float, budget: float) -> int:
    """Where in the queue the member to give `worker` is: the first of the next `window` that
    this worker composed in the check, or that no live worker did, and that weighs as much as
    the first; else the first."""
    for at in range(min(window, len(queue))):
        job = queue[at]
        holder = holders.get(job.number)
        if (holder is None or holder is worker or not holder.pid) and member_weight(job, budget) == weight:
            return at
    return 0


def _import_run_path() -> None:
    """What every member runs, imported before forking workers rather than once in each."""
    import rompy.run  # noqa: F401
    import rompy.runtime.processes  # noqa: F401


def _send(worker: _Worker, number: int) -> bool:
    try:
        os.write(worker.to_worker, forked.FRAME.pack(number))
        return True
    except (BrokenPipeError, OSError):
        return False


# -- faults ----------------------------------------------------------------------
def _note_sweep_died(run_dir: str | None, sweep_pid: int) -> None:
    """The member was stopped because its sweep process died: say so in its record."""
    if run_dir:
        from rompy.record import RecordStore

        RecordStore(run_dir).reword_interruption(f"the sweep's rompy process (pid {sweep_pid}) died; "
                                                 "this member stopped its model and cleaned up itself")


def _clean_up_after_dead_worker(pid: int, result: MemberResult) -> None:
    """A worker died without cleaning up (SIGKILL, OOM): stop what it left, now.

    Its model processes and container are registered under the dead worker's pid, so
    they are orphans to rompy.active_runs and the Docker reaper; waiting for the next
    rompy start would leave them running beside the members this sweep starts next.
    The record is settled first (as the results line says: failed), so the reaper
    only kills and removes.
    """
    settle_record(result.run_dir, result)
    from rompy.runtime.active_runs import clean_up_leftovers

    clean_up_leftovers(owner_pid=pid)


# -- what a member costs -----------------------------------------------------------------
def member_weight(job, budget: float) -> float:
    """The cores a member holds on this machine while it runs, at most the whole budget."""
    local = job.resources.local_cpus if job.resources is not None else 1.0
    return min(max(float(local), 0.0), float(budget))
