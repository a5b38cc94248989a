"""Children forked from the sweep process, the frames they exchange with it, and the shared check.

Both launchers that run members on this machine fork. The parallel launcher's workers run
members (rompy.sweep.executors.parallel); a large sweep's whole-sweep check is shared with
children, one per further core, under either launcher (`check_in_children`). A child
starts as a copy of the sweep, with Hydra and the composed templates in memory, in its own
process group, so that a Ctrl-C reaches only the sweep, which decides what to pass on.
Messages are frames: a length, then that many bytes.
"""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import select
import signal
import struct
import sys
import threading
from dataclasses import dataclass, field
from typing import Iterator

from rompy.errors import Interrupted
from rompy.runtime import teardown
from rompy.sweep.member import flush_std_streams

FRAME = struct.Struct("!I")  # every message: its length, then its bytes
#: Below this many members the whole-sweep check runs in the sweep process (forking costs more).
CHECK_SIDE_BY_SIDE_FROM = 64
#: Checks a checking child reports at once: its report streams, so neither process holds a whole share's.
CHECKS_PER_FRAME = 256


@dataclass
class Worker:
    """A forked child as the sweep sees it: its pid, the pipe ends the sweep keeps, and what it
    sent that has not been taken as a whole message yet."""

    pid: int
    to_worker: int            # the sweep writes here (-1: a child that is told nothing)
    from_worker: int          # the child writes here
    data: bytearray = field(default_factory=bytearray)
    checks_reported: int = 0  # of its share of the check, in order

    def message(self) -> bytes | None:
        """One whole message from what has been read, or None if it is not all here yet."""
        if len(self.data) < FRAME.size:
            return None
        (size,) = FRAME.unpack_from(self.data)
        if len(self.data) < FRAME.size + size:
            return None
        body = bytes(self.data[FRAME.size:FRAME.size + size])
        del self.data[:FRAME.size + size]
        return body


# -- processes and pipes ---------------------------------------------------------------
def fork(body) -> int:
    """Fork a child that runs `body` in its own process group, then exits."""
    teardown.settle()  # a clean-up thread would hold its locks in the child forever
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


def write_frame(fd: int, body: bytes) -> None:
    view = memoryview(FRAME.pack(len(body)) + body)
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


def read_number(fd: int) -> int | None:
    """The number in the next frame header on `fd`; None once the other end closed it."""
    data = _read_exactly(fd, FRAME.size)
    return None if data is None else FRAME.unpack(data)[0]


def close(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def retire(worker: Worker) -> None:
    """End an idle child: closing its pipes ends its loop; wait for it to exit."""
    close(worker.to_worker, worker.from_worker)
    if worker.pid:
        try:
            os.waitpid(worker.pid, 0)
        except ChildProcessError:
            pass
        worker.pid = 0


def kill_and_wait(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# -- a child whose sweep died ---------------------------------------------------------------
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_POLL_S = 0.5


def set_parent_death_signal(signum: int) -> bool:
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


def die_with_parent(parent: int) -> None:
    """In a worker: a SIGKILLed sweep must not leave its members running unattended.

    SIGTERM (not SIGKILL) so that the worker's ordinary interrupt path runs: the model
    is stopped, the container removed, the record marked `interrupted`. The parent may
    have died between fork() and prctl(); the kernel would then send nothing, hence the
    getppid() check right after.
    """
    if not set_parent_death_signal(signal.SIGTERM):
        _watch_parent(parent)
    if os.getppid() != parent:
        raise Interrupted(signal.SIGTERM)


# -- the whole-sweep check, shared -------------------------------------------------------------
def check_share(ctx, by_number, share, check_one, results: int, sweep_pid: int, keep_at_most: int = 0,
                per_frame: int | None = None) -> None:
    """In a child: check its share of the members, keeping up to `keep_at_most` of them composed
    for their run, and report the checks on `results` (`per_frame` at a time, else all at once),
    the last report saying it is the last."""
    set_parent_death_signal(signal.SIGKILL)  # it starts nothing yet that needs a clean stop
    if os.getppid() != sweep_pid:
        os._exit(0)
    ctx.keep_at_most = keep_at_most
    checks = []
    for job in share:
        check = check_one(job)
        by_number[job.number].run_dir = check.run_dir
        checks.append(check)
        if len(checks) == per_frame:
            write_frame(results, pickle.dumps((checks, False)))
            checks = []
    write_frame(results, pickle.dumps((checks, True)))


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
    checking: dict[int, tuple[Worker, list]] = {}
    sweep_pid = os.getpid()

    try:
        for share in shares:
            from_read, from_write = os.pipe()
            inherited = [worker.from_worker for worker, _ in checking.values()]

            def check(share=share, from_read=from_read, from_write=from_write, inherited=inherited) -> None:
                close(from_read, *inherited)
                check_share(ctx, by_number, share, check_one, from_write, sweep_pid, per_frame=CHECKS_PER_FRAME)

            pid = fork(check)
            close(from_write)
            checking[from_read] = (Worker(pid=pid, to_worker=-1, from_worker=from_read), share)
        for done, job in enumerate(own, 1):
            yield check_one(job)
            if done % CHECKS_PER_FRAME == 0:  # a child whose report nobody reads stops checking
                yield from read_checks(checking, check_one, _retire_checker, wait=False)
        while checking:
            yield from read_checks(checking, check_one, _retire_checker)
    except BaseException:  # interrupted, or the caller stopped reading
        stop_checking(checking)
        raise


def read_checks(checking: dict[int, tuple[Worker, list]], check_one, reported, wait: bool = True) -> list:
    """The checks that the checking children have reported since the last call (waiting for
    some if `wait`). A child leaves `checking` once its whole share is reported (then
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
            retire(worker)
            checks.extend(check_one(job) for job in share[worker.checks_reported:])
    return checks


def _retire_checker(worker: Worker, share: list) -> None:
    """A checking child that has reported its whole share ends."""
    retire(worker)


def stop_checking(checking: dict[int, tuple[Worker, list]]) -> None:
    for worker, _ in checking.values():
        kill_and_wait(worker.pid)
        close(worker.to_worker, worker.from_worker)
    checking.clear()
