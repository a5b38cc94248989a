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
interrupted is not used again: it has spent its one signal. docs/architecture.md has the picture.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import pickle
import select
import signal
import socket
import struct
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator, Optional

from pydantic import BaseModel, ConfigDict, Field

from rompy.errors import EXIT_RUN_FAILED, Interrupted
from rompy.runtime import signals
from rompy.sweep.member import flush_std_streams, run_member, settle_record
from rompy.sweep.records import MemberResult

log = logging.getLogger("rompy.sweep")

_FRAME = struct.Struct("!I")  # every message: its length, then its bytes
#: Below this many members the whole-sweep check runs in the sweep process (forking costs more).
CHECK_SIDE_BY_SIDE_FROM = 64
#: Checked members a worker keeps composed for their run (about 30 kB each); beyond, it composes them again.
KEPT_PER_WORKER = 1000
#: Checks a checking child reports at once: its report streams, so neither process holds a whole share's.
CHECKS_PER_FRAME = 256
#: A worker that ran ahead of the others may start one of its own members this many places per worker early.
WINDOW_PER_WORKER = 4


@dataclass
class _Worker:
    pid: int
    to_worker: int            # the sweep writes member numbers here
    from_worker: int          # the worker writes results here
    job: object = None        # the member it runs, None while idle
    weight: float = 0.0
    started_at: str | None = None
    data: bytearray = field(default_factory=bytearray)
    signalled: set = field(default_factory=set)
    holds: set = field(default_factory=set)  # members it composed in the check and keeps for their run
    checks_reported: int = 0  # of its share, in order

    def message(self) -> bytes | None:
        """One whole message from what has been read, or None if it is not all here yet."""
        if len(self.data) < _FRAME.size:
            return None
        (size,) = _FRAME.unpack_from(self.data)
        if len(self.data) < _FRAME.size + size:
            return None
        body = bytes(self.data[_FRAME.size:_FRAME.size + size])
        del self.data[:_FRAME.size + size]
        return body


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
        return float(self.cores or usable_cores())

    # -- the whole-sweep check -------------------------------------------------------
    def check_all(self, jobs, ctx, check_one) -> list | None:
        """check_one over every member, split across the first workers; None: check them here.

        Each worker checks every n-th member and keeps what it composed, so the members it
        is then given from its share are composed once. The workers wait, checked, until
        the sweep hands them members (execute) or lets them go (release).
        """
        children = min(int(self._budget() + 0.999), len(jobs) // (CHECK_SIDE_BY_SIDE_FROM // 2))
        if len(jobs) < CHECK_SIDE_BY_SIDE_FROM or children < 2:
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
                checks.extend(_read_checks(checking, check_one, reported))
        except BaseException:
            _stop_checking(checking)  # interrupted: leave no worker behind
            self.release()
            raise
        return sorted(checks, key=lambda check: check.number)

    def release(self) -> None:
        """End the workers the check forked that no member was given to."""
        while self._checked:
            _retire(self._checked.pop())

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
                    _retire(worker)
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
                                _retire(idle.pop())
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
                                _retire(worker)
                                continue
                            if not chunk or result.status == "interrupted" or worker.signalled:
                                _retire(worker)
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
                _retire(worker)
            for worker in busy.values():  # only on an unexpected error: leave nothing behind
                _kill_and_wait(worker.pid)
                _close(worker.to_worker, worker.from_worker)

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
                _close(fd)
            if share is not None:
                _check_in_worker(ctx, by_number, share, check_one, from_write, sweep_pid)
                if not _receive_lock(to_read):  # released: the sweep runs nothing
                    return
            _serve(ctx, by_number, to_read, from_write, sweep_pid)

        pid = _fork(serve)
        _close(to_read, from_write)
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
        _die_with_parent(sweep_pid)
        while True:
            number = _read_number(commands)
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
        _write_frame(self.fd, json.dumps(result.to_dict(), default=str).encode("utf-8"))

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
def _fork(body) -> int:
    """Fork a child that runs `body` in its own process group, then exits."""
    flush_std_streams()
    # Objects the child inherits stay shared with this process only while nothing writes
    # to them; the garbage collector's passes would (copy-on-write of most pages).
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            body()
            flush_std_streams()
        finally:
            os._exit(0)
    return pid


def _check_in_worker(ctx, by_number, share, check_one, results: int, sweep_pid: int, keep: bool = True,
                     per_frame: int | None = None) -> None:
    """A worker's first task: check its share of the members, keep them composed (`keep`), report
    the checks (`per_frame` at a time, else all at once), the last report saying it is the last."""
    _set_parent_death_signal(signal.SIGKILL)  # it starts nothing yet that needs a clean stop
    if os.getppid() != sweep_pid:
        os._exit(0)
    ctx.keep_at_most = KEPT_PER_WORKER if keep else 0
    checks = []
    for job in share:
        check = check_one(job)
        by_number[job.number].run_dir = check.run_dir
        checks.append(check)
        if len(checks) == per_frame:
            _write_frame(results, pickle.dumps((checks, False)))
            checks = []
    _write_frame(results, pickle.dumps((checks, True)))


def check_in_children(jobs, ctx, check_one) -> Iterator | None:
    """check_one over every member, this process and one forked child per further core each
    taking every n-th member; the checks come as they are made, in no set order. None: too
    few members to be worth a fork.

    For a launcher that runs its members elsewhere or one by one: the children only check
    and end. A child that dies has the rest of its share checked here.
    """
    children = min(usable_cores(), len(jobs) // (CHECK_SIDE_BY_SIDE_FROM // 2)) - 1
    if len(jobs) < CHECK_SIDE_BY_SIDE_FROM or children < 1:
        return None
    return _check_side_by_side(jobs, ctx, check_one, children)


def _check_side_by_side(jobs, ctx, check_one, children: int) -> Iterator:
    yield check_one(jobs[0])  # composes the template, which the children inherit
    rest = jobs[1:]
    own, *shares = (rest[k::children + 1] for k in range(children + 1))
    by_number = {job.number: job for job in jobs}
    checking: dict[int, tuple[_Worker, list]] = {}
    sweep_pid = os.getpid()

    try:
        for share in shares:
            from_read, from_write = os.pipe()
            inherited = [worker.from_worker for worker, _ in checking.values()]

            def check(share=share, from_read=from_read, from_write=from_write, inherited=inherited) -> None:
                _close(from_read, *inherited)
                _check_in_worker(ctx, by_number, share, check_one, from_write, sweep_pid, keep=False,
                                 per_frame=CHECKS_PER_FRAME)

            pid = _fork(check)
            _close(from_write)
            checking[from_read] = (_Worker(pid=pid, to_worker=-1, from_worker=from_read), share)
        for done, job in enumerate(own, 1):
            yield check_one(job)
            if done % CHECKS_PER_FRAME == 0:  # a child whose report nobody reads stops checking
                yield from _read_checks(checking, check_one, _retire_checker, wait=False)
        while checking:
            yield from _read_checks(checking, check_one, _retire_checker)
    except BaseException:  # interrupted, or the caller stopped reading
        _stop_checking(checking)
        raise


def _read_checks(checking: dict[int, tuple[_Worker, list]], check_one, reported, wait: bool = True) -> list:
    """The checks that the checking workers have reported since the last call (waiting for
    some if `wait`). A worker leaves `checking` once its whole share is reported (then
    `reported(worker, share)`), or when it died: the rest of its share is checked here."""
    checks = []
    ready, _, _ = select.select(list(checking), [], [], None if wait else 0)
    for fd in ready:
        worker, share = checking[fd]
        piece = os.read(fd, 1 << 20)
        worker.data.extend(piece)
        while fd in checking and (body := worker.message()) is not None:
            some, last = pickle.loads(body)
            worker.checks_reported += len(some)
            checks.extend(some)
            if last:
                del checking[fd]
                reported(worker, share)
        if not piece and fd in checking:  # it died: check the rest of its share here
            del checking[fd]
            _retire(worker)
            checks.extend(check_one(job) for job in share[worker.checks_reported:])
    return checks


def _retire_checker(worker: _Worker, share: list) -> None:
    """A checking child that has reported its whole share ends."""
    _retire(worker)


def _stop_checking(checking: dict[int, tuple[_Worker, list]]) -> None:
    for worker, _ in checking.values():
        _kill_and_wait(worker.pid)
        _close(worker.to_worker, worker.from_worker)
    checking.clear()


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
        _retire(worker)
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


def _write_frame(fd: int, body: bytes) -> None:
    view = memoryview(_FRAME.pack(len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        piece = os.read(fd, size - len(data))
        if not piece:
            return None
        data += piece
    return data


def _read_number(fd: int) -> int | None:
    data = _read_exactly(fd, _FRAME.size)
    return None if data is None else _FRAME.unpack(data)[0]


def _send(worker: _Worker, number: int) -> bool:
    try:
        os.write(worker.to_worker, _FRAME.pack(number))
        return True
    except (BrokenPipeError, OSError):
        return False


def _close(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _retire(worker: _Worker) -> None:
    """End an idle worker: closing its pipe ends its loop; wait for it to exit."""
    _close(worker.to_worker, worker.from_worker)
    if worker.pid:
        try:
            os.waitpid(worker.pid, 0)
        except ChildProcessError:
            pass
        worker.pid = 0


def _kill_and_wait(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


# -- faults ----------------------------------------------------------------------
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_POLL_S = 0.5


def _set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send `signum` to this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Where prctl is missing (macOS): a thread that sends SIGTERM to us once `parent` is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(_PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="rompy-sweep-parent-watch", daemon=True).start()


def _die_with_parent(parent: int) -> None:
    """In a worker: a SIGKILLed sweep must not leave its members running unattended.

    SIGTERM (not SIGKILL) so that the worker's ordinary interrupt path runs: the model
    is stopped, the container removed, the record marked `interrupted`. The parent may
    have died between fork() and prctl(); the kernel would then send nothing, hence the
    getppid() check right after.
    """
    if not _set_parent_death_signal(signal.SIGTERM):
        _watch_parent(parent)
    if os.getppid() != parent:
        raise Interrupted(signal.SIGTERM)


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
def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def member_weight(job, budget: float) -> float:
    """The cores a member holds on this machine while it runs, at most the whole budget."""
    local = job.resources.local_cpus if job.resources is not None else 1.0
    return min(max(float(local), 0.0), float(budget))
