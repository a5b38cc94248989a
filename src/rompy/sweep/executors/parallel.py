"""Parallel executor: members side by side in forked worker processes, sized by cores.

A forked worker starts as a copy of the sweep process, with Hydra, the task and the
member's composed config in memory: it starts at once and composes nothing again.
Members start in sweep order while the cores they hold on this machine (their backend's
`resources().local_cpus`) fit the budget (`cores`, default: the cores this process may
use) and at most `max_workers` run; a member heavier than the budget runs alone. Each
worker is its own process group: a Ctrl-C reaches only the sweep, which passes it on once.

Faults: a SIGKILLed sweep's workers get SIGTERM from the kernel (PR_SET_PDEATHSIG) and
stop their members as on Ctrl-C, noting in the record that the sweep died; a SIGKILLed
worker is cleaned up by the sweep at once (its runs are registered under the worker's
pid), or by the next rompy start if the sweep died too. docs/architecture.md has the picture.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import select
import signal
import sys
import threading
from collections import deque
from dataclasses import dataclass, field

from rompy.errors import EXIT_RUN_FAILED, Interrupted
from rompy.runtime import signals
from rompy.sweep.member import flush_std_streams, run_member, settle_record
from rompy.sweep.records import MemberResult

log = logging.getLogger("rompy.sweep")


@dataclass
class _Worker:
    pid: int
    fd: int
    job: object
    weight: float
    data: bytearray = field(default_factory=bytearray)
    signalled: set = field(default_factory=set)
    started_at: str | None = None


class ForkExecutor:
    name = "parallel"

    def __init__(self, cores: float | None = None, max_workers: int | None = None, poll_s: float = 0.25):
        self.cores = cores
        self.max_workers = max_workers
        self.poll_s = poll_s
        self._warm: set[tuple] = set()

    def execute(self, jobs, ctx) -> None:
        budget = float(self.cores or usable_cores())
        max_workers = int(self.max_workers or max(1, 4 * int(budget + 0.999)))
        queue = deque(jobs)
        prepared: dict[int, tuple] = {}
        running: dict[int, _Worker] = {}
        used = 0.0
        try:
            while True:
                try:
                    while queue and not ctx.stopping and len(running) < max_workers:
                        job = queue[0]
                        if job.number not in prepared:
                            member = ctx.prepare(job)
                            if member is None:
                                queue.popleft()
                                continue
                            prepared[job.number] = (member, member_weight(job, budget))
                        member, weight = prepared[job.number]
                        if running and used + weight > budget + 1e-9:
                            break
                        queue.popleft()
                        del prepared[job.number]
                        self._warm_up(member)
                        worker = self._spawn(job, member, weight, ctx, list(running))
                        running[worker.fd] = worker
                        used += weight
                        ctx.started(job)
                    if ctx.stopping:
                        self._stop_workers(running, ctx)
                    if not running:
                        if not queue or ctx.stopping:
                            return
                        continue
                    ready, _, _ = select.select(list(running), [], [], self.poll_s)
                    for fd in ready:
                        worker = running[fd]
                        chunk = os.read(fd, 65536)
                        if chunk:
                            worker.data.extend(chunk)
                            continue
                        del running[fd]
                        used = max(0.0, used - worker.weight)
                        ctx.finished(worker.job, self._reap(worker))
                    ctx.tick()
                except Interrupted as exc:
                    ctx.interrupt(exc.exit_code)
                    self._forward(running, exc.signum)
        finally:
            for worker in running.values():  # only on an unexpected error: leave nothing behind
                try:
                    os.kill(worker.pid, signal.SIGTERM)
                    os.waitpid(worker.pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
                os.close(worker.fd)

    # -- workers ---------------------------------------------------------------
    def _warm_up(self, member) -> None:
        """Import in the sweep process what a member imports on its first run.

        Forked workers inherit the sweep's modules; without this every worker would import
        the run path, the backend and the models again, on the cores the members need.
        Validation errors are the member's to report, so they are ignored here.
        """
        from omegaconf import OmegaConf

        types = tuple(OmegaConf.select(member.task_cfg, f"{kind}.type", default=None)
                      for kind in ("backend", "postprocessor", "model"))
        if types in self._warm:
            return
        self._warm.add(types)
        try:
            import rompy.runtime.processes  # noqa: F401
            import rompy.run  # noqa: F401
            from rompy.config import RunConfig

            RunConfig.model_validate(OmegaConf.to_container(member.task_cfg, resolve=True))
        except Exception:  # noqa: BLE001 - the member reports its own errors
            pass

    def _spawn(self, job, member, weight, ctx, inherited_fds) -> _Worker:
        read_fd, write_fd = os.pipe()
        flush_std_streams()
        # Objects the worker inherits stay shared with the sweep process only while nothing
        # writes to them; the garbage collector's passes would (copy-on-write of most pages).
        gc.freeze()
        from rompy.core.time import utcnow

        started_at = utcnow().isoformat()
        sweep_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            payload = b""
            try:
                os.close(read_fd)
                for fd in inherited_fds:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                os.setpgid(0, 0)
                # Ctrl-C forwarded by the sweep, then SIGTERM when the sweep is killed: a second
                # signal must not cut short the stop the first one started (rompy.signals).
                signals.interrupt_on_first_signal()
                _die_with_parent(sweep_pid)
                result = run_member(ctx.task_function, member, ctx.callbacks, job.run_dir)
            except Interrupted as exc:
                result = MemberResult("interrupted", exc.exit_code, f"interrupted ({exc})")
            except BaseException as exc:
                result = MemberResult("failed", EXIT_RUN_FAILED, f"worker error: {type(exc).__name__}: {exc}")
            try:
                if os.getppid() != sweep_pid:  # nobody will read the report: say it in the record
                    _note_sweep_died(result.run_dir or job.run_dir, sweep_pid)
                payload = json.dumps(result.to_dict(), default=str).encode("utf-8")
                flush_std_streams()
                view = memoryview(payload)
                while view:
                    view = view[os.write(write_fd, view):]
            finally:
                os._exit(0)
        os.close(write_fd)
        return _Worker(pid=pid, fd=read_fd, job=job, weight=weight, started_at=started_at)

    @staticmethod
    def _reap(worker: _Worker) -> MemberResult:
        os.close(worker.fd)
        try:
            _, status = os.waitpid(worker.pid, 0)
        except ChildProcessError:
            status = 0
        try:
            return MemberResult.from_dict(json.loads(worker.data.decode("utf-8")))
        except ValueError:
            from rompy.core.time import utcnow

            if os.WIFSIGNALED(status):
                how = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
            else:
                how = f"exited with code {os.waitstatus_to_exitcode(status)}"
            result = MemberResult("failed", EXIT_RUN_FAILED, f"worker process {how} before reporting",
                                  started_at=worker.started_at, finished_at=utcnow().isoformat(),
                                  run_dir=worker.job.run_dir)
            _clean_up_after_dead_worker(worker.pid, result)
            return result

    def _stop_workers(self, running, ctx) -> None:
        """fail_fast: stop running members once (they report interrupted)."""
        if ctx.stop_reason == "fail_fast":
            self._forward(running, signal.SIGTERM)

    @staticmethod
    def _forward(running, signum: int) -> None:
        for worker in running.values():
            if signum in worker.signalled:
                continue
            worker.signalled.add(signum)
            try:
                os.kill(worker.pid, signum)
            except ProcessLookupError:
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
