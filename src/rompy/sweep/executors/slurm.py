"""SLURM executor: members packed into the tasks of SLURM job arrays, submitted with submitit.

Clusters cap array sizes and charge every job a scheduling cost, and a task that starts
Python for a member of a few seconds spends most of its time starting. So each array task
runs a pack of members (`members_per_task`, or as many as fit in `task_minutes` given
each member's timeout): one after another, or side by side when the task has more cores
than a member holds (`cpus_per_task`). Inside the task the parallel executor runs them,
each member in a worker process of its own: a member that fails, times out or is killed
does not take its task-mates with it. Every member keeps its own run directory, record,
results line and timeout.

Members are composed in the sweep, a pack at a time, and shipped to the node composed in
a pack file; the task appends each member's start and end to the pack's progress file,
which the sweep reads as tasks run, so each member is recorded when it ends. Members are
grouped by the resources their backend asks for (`resources()`: cores, memory, time plus
`timeout_margin_s`); each group is packed and submitted as arrays of at most
`max_array_size` tasks. Jobs are followed, not waited on (rompy.backends.slurm.jobs.follow).
A task still running past its members' timeouts plus `timeout_margin_s` is cancelled. On
Ctrl-C or fail-fast the sweep cancels its remaining jobs; what a member finished before
that is kept.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from rompy.backends.slurm import jobs as slurm_jobs
from rompy.backends.slurm.jobs import JobWatch, TrackedJob, follow, squeue_started
from rompy.core.time import utcnow
from rompy.errors import EXIT_RUN_FAILED, Interrupted
from rompy.sweep.records import MemberResult

log = logging.getLogger("rompy.sweep")

# Launcher keys rompy handles itself; every other non-null key goes to submitit as is.
_OWN_KEYS = {"submitit_folder", "cpus_per_task", "timeout_min", "timeout_margin_s", "mem_gb",
             "poll_s", "status_interval_s", "name", "max_num_timeout", "tasks_per_node", "nodes",
             "members_per_task", "task_minutes", "max_array_size"}

#: Where a sweep keeps its packs (composed members) and their progress files.
PACKS_DIR = ".rompy-tasks"
#: SLURM's default MaxArraySize is 1001: indexes 0-1000.
MAX_ARRAY_SIZE = 1000


# -- inside an array task ------------------------------------------------------------------
class _TaskContext:
    """What the parallel executor asks of a sweep, inside one array task: members arrive
    composed, and their starts and ends go to the pack's progress file."""

    callbacks = None

    def __init__(self, task_function, members: dict, progress: str, details: dict):
        self.task_function = task_function
        self.members = members
        self.progress = progress
        self.details = details
        self.stopping = False
        self.stop_reason: str | None = None

    def compose(self, job):
        return self.members[job.number]

    def composition_failure(self, job, exc) -> MemberResult:  # members arrive composed
        return MemberResult("failed", EXIT_RUN_FAILED, f"{type(exc).__name__}: {exc}")

    def started(self, job) -> None:
        self._append({"member": job.number, "event": "started", "at": utcnow().isoformat(), **self.details})

    def finished(self, job, result: MemberResult, was_running: bool = True) -> None:
        result.details.update(self.details)
        self._append({"member": job.number, "event": "ended", "result": result.to_dict()})

    def tick(self) -> None:
        pass

    def interrupt(self, code: int) -> None:
        self.stopping, self.stop_reason = True, "interrupted"

    def _append(self, event: dict) -> None:
        data = (json.dumps(event, default=str, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.progress, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def run_pack(task_function, pack_path: str, progress_path: str, cores: float) -> dict:
    """Runs on the SLURM node: a pack's members through the same task as in any launcher,
    side by side within `cores`, each in a worker process of its own."""
    import signal

    from rompy.runtime.signals import interruptible

    # submitit turns SLURM's pre-time-limit SIGUSR2 into an exception inside the member
    # (to requeue it); rompy enforces the member's timeout itself, so the warning is ignored.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    # submitit ignores SIGTERM from before this call, so rompy's handler goes in first: a
    # cancel that lands while the task sets up stops it before its first member.
    try:
        with interruptible():
            return _run_members(task_function, pack_path, progress_path, cores)
    except Interrupted:
        return {"members": 0}


def _run_members(task_function, pack_path: str, progress_path: str, cores: float) -> dict:
    import pickle

    from hydra.core.utils import setup_globals

    from rompy.cli.compose import register_resolvers
    from rompy.sweep.executors.parallel import ForkExecutor

    setup_globals()
    register_resolvers()
    with open(pack_path, "rb") as fh:
        pack = pickle.load(fh)  # [(MemberJob, ComposedMember)]
    array_id = os.environ.get("SLURM_ARRAY_JOB_ID")
    details = {"slurm_job_id": (f"{array_id}_{os.environ.get('SLURM_ARRAY_TASK_ID')}" if array_id
                                else os.environ.get("SLURM_JOB_ID")),
               "host": os.environ.get("SLURMD_NODENAME") or os.uname().nodename}
    ctx = _TaskContext(task_function, {job.number: member for job, member in pack}, progress_path, details)
    ForkExecutor(cores=cores, max_workers=max(1, int(cores))).execute([job for job, _ in pack], ctx)
    return {"members": len(pack)}


# -- what a pack asks of SLURM --------------------------------------------------------------
def member_resources(resources, params: dict[str, Any]) -> dict[str, Any]:
    """sbatch resources for one member, from its backend's Resources: cpus, time limit (minutes), memory."""
    cpus = params.get("cpus_per_task") or max(1, math.ceil(resources.cpus if resources else 1))
    timeout = resources.timeout_s if resources else 3600
    margin = float(params.get("timeout_margin_s") or 0)
    minutes = params.get("timeout_min") or (math.ceil((float(timeout) + margin) / 60) + 1)
    sbatch: dict[str, Any] = {"cpus_per_task": int(cpus), "time": int(minutes)}
    if params.get("mem_gb"):
        sbatch["mem"] = f"{int(params['mem_gb'])}GB"
    elif resources is not None and resources.memory_bytes:
        sbatch["mem"] = f"{math.ceil(resources.memory_bytes / 2**20)}M"
    return sbatch


def members_per_task(params: dict[str, Any], timeout_s: float) -> int:
    """How many members one array task runs: `members_per_task`, or as many as `task_minutes`
    holds at each member's timeout, or one."""
    wanted = params.get("members_per_task")
    if not wanted and params.get("task_minutes"):
        wanted = int(float(params["task_minutes"]) * 60 // max(float(timeout_s), 1.0))
    return max(1, int(wanted or 1))


def side_by_side(task_cpus: int, member_cpus: float) -> int:
    """Members of a pack running at once: as many as the task's cores hold."""
    return max(1, int(task_cpus // max(member_cpus, 1e-9))) if member_cpus > 0 else max(1, task_cpus)


def state_result(state: str, job_id: str) -> MemberResult:
    """How a member that ended without a result is reported, from its SLURM state."""
    status, message = slurm_jobs.slurm_status(state, job_id)
    return MemberResult(status, EXIT_RUN_FAILED, message)


# -- in the sweep -------------------------------------------------------------------------------
@dataclass
class Pack:
    """Members one array task runs, and what the sweep has read of its progress file."""

    index: int
    jobs: list
    cores: int
    progress: Path
    started: set = field(default_factory=set)
    ended: set = field(default_factory=set)
    deferred: dict = field(default_factory=dict)  # interrupted by SLURM: reported once SLURM says how
    offset: int = 0

    def read(self) -> list[dict]:
        """Events appended since the last read (whole lines only)."""
        try:
            with open(self.progress, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        events = []
        for line in complete.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


class SlurmSettings(BaseModel):
    """`hydra/launcher=slurm`'s own keys; the rest (partition, account, qos, setup, ...) go to submitit as given."""

    model_config = ConfigDict(extra="allow")

    members_per_task: Optional[int] = Field(None, ge=1)
    task_minutes: Optional[float] = Field(None, gt=0)
    max_array_size: Optional[int] = Field(None, ge=1)
    cpus_per_task: Optional[int] = Field(None, ge=1)
    mem_gb: Optional[float] = Field(None, gt=0)
    timeout_min: Optional[int] = Field(None, ge=1)
    timeout_margin_s: Optional[float] = Field(None, ge=0)
    poll_s: Optional[float] = Field(None, gt=0)
    status_interval_s: Optional[float] = Field(None, ge=0)
    nodes: Optional[int] = Field(None, ge=1)
    tasks_per_node: Optional[int] = Field(None, ge=1)
    max_num_timeout: Optional[int] = Field(None, ge=0)


def extra_launcher_keys() -> set[str] | None:
    """The keys hydra/launcher=slurm takes beyond SlurmSettings' fields: rompy's own and submitit's
    sbatch parameters (None: this submitit does not list its parameters)."""
    import submitit

    valid = getattr(submitit.SlurmExecutor, "_valid_parameters", None)
    return set(valid()) | _OWN_KEYS if callable(valid) else None


@dataclass
class _Tracked(TrackedJob):
    pack: Any = field(default=None, kw_only=True)   # the Pack this SLURM task runs


class SlurmExecutor:
    name = "slurm"

    def __init__(self, params: dict[str, Any], clock=time.monotonic):
        self.params = {k: v for k, v in params.items() if not k.startswith("_")}
        self.clock = clock
        self.watch = JobWatch(margin_s=float(self.params.get("timeout_margin_s") or 0), clock=clock)

    # -- submission ---------------------------------------------------------------
    def _submitit_params(self) -> dict[str, Any]:
        out = {k: v for k, v in self.params.items() if k not in _OWN_KEYS and v is not None}
        out["job_name"] = self.params.get("name") or "rompy"
        return out

    def packs(self, jobs, packs_dir: Path) -> list[tuple[dict, list[Pack], float]]:
        """Members grouped by what they ask of SLURM, then packed: [(sbatch, packs, task timeout)]."""
        groups: dict[tuple, list] = {}
        for job in jobs:
            groups.setdefault(tuple(sorted(member_resources(job.resources, self.params).items())), []).append(job)
        planned, index = [], 0
        for key, members in groups.items():
            sbatch = dict(key)
            resources = members[0].resources
            timeout = float(resources.timeout_s if resources else 3600)
            per_task = members_per_task(self.params, timeout)
            member_cpus = float(resources.cpus if resources else 1)
            at_once = side_by_side(int(sbatch["cpus_per_task"]), member_cpus)
            waves = math.ceil(min(per_task, len(members)) / at_once)
            task_timeout = waves * timeout
            if not self.params.get("timeout_min"):  # the time limit covers every wave of the pack
                margin = float(self.params.get("timeout_margin_s") or 0)
                sbatch["time"] = math.ceil((task_timeout + margin) / 60) + 1
            packs = []
            for start in range(0, len(members), per_task):
                packs.append(Pack(index, members[start:start + per_task], int(sbatch["cpus_per_task"]),
                                  packs_dir / f"pack-{index}.jsonl"))
                index += 1
            planned.append((sbatch, packs, task_timeout))
        return planned

    def execute(self, jobs, ctx) -> None:
        sweep_dir = Path(ctx.sweep_dir)
        folder = self.params.get("submitit_folder") or str(sweep_dir / ".submitit" / "%j")
        packs_dir = sweep_dir / PACKS_DIR
        packs_dir.mkdir(parents=True, exist_ok=True)
        executor = slurm_jobs.new_executor(folder)
        base = self._submitit_params()
        cap = int(self.params.get("max_array_size") or MAX_ARRAY_SIZE)
        tracked: list[_Tracked] = []
        try:
            for sbatch, packs, task_timeout in self.packs(jobs, packs_dir):
                for first in range(0, len(packs), cap):
                    tracked.extend(self._submit(executor, {**base, **sbatch}, packs[first:first + cap],
                                                task_timeout, ctx))
        except Interrupted:
            self._cancel_all(tracked, "interrupted")
            raise
        self._watch(tracked, ctx)

    def _submit(self, executor, parameters: dict, packs: list[Pack], task_timeout: float, ctx) -> list[_Tracked]:
        """Write each pack's members, composed, to its pack file and submit the packs as one array."""
        import pickle

        ready: list[Pack] = []
        for pack in packs:
            composed = []
            for job in pack.jobs:
                member = ctx.prepare(job)
                if member is not None:
                    composed.append((job, member))
            pack.jobs = [job for job, _ in composed]
            if not composed:
                continue
            pack.progress.unlink(missing_ok=True)  # a resumed sweep's earlier events are not this run's
            with open(pack.progress.with_suffix(".pkl"), "wb") as fh:
                pickle.dump(composed, fh, protocol=pickle.HIGHEST_PROTOCOL)
            ready.append(pack)
        if not ready:
            return []
        try:
            executor.update_parameters(**parameters)
            sjobs = executor.map_array(run_pack, [ctx.task_function] * len(ready),
                                       [str(p.progress.with_suffix(".pkl")) for p in ready],
                                       [str(p.progress) for p in ready], [p.cores for p in ready])
        except Exception as exc:  # sbatch refused (no controller, bad partition, ...)
            message = slurm_jobs.submission_error(exc)
            for pack in ready:
                for job in pack.jobs:
                    now = utcnow().isoformat()
                    ctx.finished(job, MemberResult("failed", EXIT_RUN_FAILED, f"submission failed: {message}",
                                                   started_at=now, finished_at=now, duration_s=0.0,
                                                   run_dir=job.run_dir), was_running=False)
            return []
        out = []
        for pack, sjob in zip(ready, sjobs):
            out.append(_Tracked(pack=pack, sjob=sjob, timeout_s=task_timeout))
            log.debug("members %s -> SLURM job %s", ",".join(str(j.number) for j in pack.jobs), sjob.job_id)
        log.info("%d members in %d tasks -> SLURM array %s", sum(len(p.jobs) for p in ready), len(ready),
                 sjobs[0].job_id.split("_")[0])
        return out

    # -- watching -------------------------------------------------------------------
    def _watch(self, tracked: list[_Tracked], ctx) -> None:
        """Follow the tasks to their end. What a task reported is read and recorded in held
        blocks: a Ctrl-C or SIGTERM between reading a progress file and recording its
        members would lose what they did."""
        from rompy.runtime.signals import held

        poll_s = float(self.params.get("poll_s") or 1.0)
        status_every = float(self.params.get("status_interval_s") or 3.0)
        pending = list(tracked)

        def started(item: _Tracked) -> None:
            with held():
                self._progress(item, ctx)

        def ended(item: _Tracked, state: str) -> bool:
            with held():
                self._progress(item, ctx)
            if self._needs_final_state(item, state):
                return False
            with held():
                self._settle(item, state, ctx)
            return True

        def each_round(pending: list[_Tracked]) -> bool:
            with held():
                for item in pending:
                    if item.running_since is not None:
                        self._progress(item, ctx)
                if ctx.stopping and not self._stop(pending, ctx):
                    return False
                ctx.tick()
            return True

        while pending:
            try:
                follow(pending, self.watch, poll_s=poll_s, status_every_s=status_every,
                       on_started=started, on_ended=ended, on_round=each_round)
                return
            except Interrupted as exc:
                ctx.interrupt(exc.exit_code)

    def _progress(self, item: _Tracked, ctx) -> None:
        """Report what the task's progress file says happened since the last look."""
        pack = item.pack
        by_number = {job.number: job for job in pack.jobs}
        for event in pack.read():
            job = by_number.get(event.get("member"))
            if job is None or job.number in pack.ended:
                continue
            if event.get("event") == "started" and job.number not in pack.started:
                pack.started.add(job.number)
                if item.running_since is None:
                    self.watch.mark_started(item)
                ctx.started(job)
            elif event.get("event") == "ended":
                result = MemberResult.from_dict(event.get("result") or {})
                result.run_dir = result.run_dir or job.run_dir
                if result.status == "interrupted" and item.cancelled is None:
                    pack.deferred[job.number] = result  # scancel, time limit: say what SLURM did, once sacct knows
                    continue
                pack.ended.add(job.number)
                if item.cancelled == "timeout" and result.status == "interrupted":
                    result.status = "timed_out"
                    result.message = self._timeout_message(item)
                ctx.finished(job, result, was_running=job.number in pack.started)

    def _needs_final_state(self, item: _Tracked, state: str) -> bool:
        """A task that ended with members unreported: wait (a little) for SLURM's final word on it.

        Its result file does not end the wait: a task cancelled by someone else before its
        members started writes one (no member ran) before sacct says CANCELLED.
        """
        unreported = [j for j in item.pack.jobs if j.number not in item.pack.ended]
        if not unreported or item.cancelled is not None:
            return False
        return self.watch.wait_for_final_state(item, state)

    def _settle(self, item: _Tracked, state: str, ctx) -> None:
        """The task ended: every member it did not report gets a result from what SLURM and rompy know."""
        from rompy.sweep.member import settle_record

        pack = item.pack
        for job in pack.jobs:
            if job.number in pack.ended:
                continue
            was_started = job.number in pack.started
            if item.cancelled in ("interrupted", "fail_fast") and not was_started:
                continue  # never started, stopped by rompy: not_run, and resume runs it
            own = pack.deferred.pop(job.number, None)
            if item.cancelled is not None:
                result = self._cancelled_result(item, job, was_started)
            else:
                result = state_result(state, item.job_id)
                if not was_started:
                    result.message += f"; member {job.number} had not started"
            if own is not None:  # what the member itself recorded, with SLURM's word on how it ended
                result.started_at, result.finished_at, result.duration_s = own.started_at, own.finished_at, own.duration_s
                result.details = {**own.details, **result.details}
                if item.cancelled is not None:
                    result.status, result.exit_code = own.status, own.exit_code
            result.details.update(slurm_job_id=item.job_id, slurm_state=state)
            result.run_dir = job.run_dir
            result.started_at = result.started_at or item.started_at or utcnow().isoformat()
            result.finished_at = result.finished_at or utcnow().isoformat()
            if result.duration_s is None and item.running_since is not None:
                result.duration_s = self.watch.duration(item)
            pack.ended.add(job.number)
            if was_started:
                settle_record(job.run_dir, result)  # its process was killed before it could say so
            ctx.finished(job, result, was_running=was_started)

    def _stop(self, pending: list[_Tracked], ctx) -> bool:
        """fail-fast or interrupt: cancel what is left; False when nothing more is to be waited for."""
        reason = "fail_fast" if ctx.stop_reason == "fail_fast" else "interrupted"
        started = squeue_started([item.sjob.job_id for item in pending])
        for item in pending:
            if item.running_since is None and item.sjob.job_id in started:
                self.watch.mark_started(item)
        for item in list(pending):
            if item.cancelled is None:
                self._cancel(item, reason)
            if item.running_since is None:  # it may have started, even ended members, since the last look
                self._progress(item, ctx)
            if item.running_since is None:  # never started: its members are not_run in the summary
                pending.remove(item)
        if reason == "interrupted":
            for item in pending:
                self._progress(item, ctx)  # what finished before the cancel keeps its result
                self._settle(item, "CANCELLED", ctx)
            pending.clear()
            return False
        return True

    def _timeout_message(self, item: _Tracked) -> str:
        return (f"cancelled SLURM job {item.job_id}: still running {item.timeout_s:g} s + "
                f"{self.params.get('timeout_margin_s') or 0} s margin after start")

    def _cancelled_result(self, item: _Tracked, job, was_started: bool) -> MemberResult:
        if item.cancelled == "timeout":
            status, code, message = "timed_out", EXIT_RUN_FAILED, self._timeout_message(item)
            if not was_started:
                status, message = "failed", f"{message}; member {job.number} had not started"
        else:
            status, code = "interrupted", 130
            message = f"SLURM job {item.job_id} cancelled by rompy ({item.cancelled})"
        return MemberResult(status, code, message, run_dir=job.run_dir, started_at=item.started_at,
                            finished_at=utcnow().isoformat())

    def _cancel(self, item: _Tracked, reason: str) -> None:
        self.watch.cancel(item, reason)

    def _cancel_all(self, tracked: list[_Tracked], reason: str) -> None:
        self.watch.cancel_all(tracked, reason)
