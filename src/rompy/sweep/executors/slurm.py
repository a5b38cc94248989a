"""SLURM executor: each member is a task of a SLURM job array, submitted with submitit.

Members are composed once, in the sweep, and shipped to the node composed. Members are
grouped by the resources their backend asks for (`resources()`: cores, memory, time plus
`timeout_margin_s`) and each group is one array; partition, account, qos, array
parallelism and other sbatch options come from the launcher config. Jobs are followed,
not waited on (rompy.backends.slurm.jobs.follow): each member is recorded when it ends,
whatever the others do; one that ends without a result is reported from its SLURM state.
A member's timeout is enforced inside its job, then by scancel `timeout_margin_s` later,
then by SLURM's time limit. On Ctrl-C or fail-fast the sweep cancels its remaining jobs.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from rompy.backends.slurm import jobs as slurm_jobs
from rompy.backends.slurm.jobs import JobWatch, TrackedJob, follow, squeue_started
from rompy.core.time import utcnow
from rompy.errors import EXIT_RUN_FAILED, Interrupted
from rompy.sweep.records import MemberResult

log = logging.getLogger("rompy.sweep")

# Launcher keys rompy handles itself; every other non-null key goes to submitit as is.
_OWN_KEYS = {"submitit_folder", "cpus_per_task", "timeout_min", "timeout_margin_s", "mem_gb",
             "poll_s", "status_interval_s", "name", "max_num_timeout", "tasks_per_node", "nodes"}


def run_remote(task_function, member, run_dir):
    """Runs on the SLURM node: the member, through the same task, as in any launcher."""
    import signal

    from hydra.core.utils import setup_globals

    from rompy.cli.compose import register_resolvers
    from rompy.sweep.member import run_member

    # submitit turns SLURM's pre-time-limit SIGUSR2 into an exception inside the member
    # (to requeue it); rompy enforces the member's timeout itself, so the warning is ignored.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    setup_globals()
    register_resolvers()
    result = run_member(task_function, member, None, run_dir)
    array_id = os.environ.get("SLURM_ARRAY_JOB_ID")
    result.details["slurm_job_id"] = (f"{array_id}_{os.environ.get('SLURM_ARRAY_TASK_ID')}" if array_id
                                      else os.environ.get("SLURM_JOB_ID"))
    result.details["host"] = os.environ.get("SLURMD_NODENAME") or os.uname().nodename
    return result.to_dict()


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


def state_result(state: str, job_id: str) -> MemberResult:
    """How a member that ended without a result is reported, from its SLURM state."""
    status, message = slurm_jobs.slurm_status(state, job_id)
    return MemberResult(status, EXIT_RUN_FAILED, message)


@dataclass
class _Tracked(TrackedJob):
    job: Any = field(default=None, kw_only=True)   # the MemberJob this SLURM job runs


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

    def execute(self, jobs, ctx) -> None:
        folder = self.params.get("submitit_folder") or os.path.join(str(ctx.master.hydra.sweep.dir), ".submitit", "%j")
        executor = slurm_jobs.new_executor(folder)
        groups: dict[tuple, list] = {}
        for job in jobs:
            member = ctx.prepare(job)
            if member is None:
                continue
            sbatch = member_resources(job.resources, self.params)
            timeout = float(job.resources.timeout_s if job.resources else 3600)
            groups.setdefault(tuple(sorted(sbatch.items())), []).append((job, member, timeout))
        tracked: list[_Tracked] = []
        base = self._submitit_params()
        try:
            for key, members in groups.items():
                try:
                    executor.update_parameters(**base, **dict(key))
                    sjobs = executor.map_array(run_remote, [ctx.task_function] * len(members),
                                               [m for _, m, _ in members], [j.run_dir for j, _, _ in members])
                except Exception as exc:  # sbatch refused (no controller, bad partition, ...)
                    message = slurm_jobs.submission_error(exc)
                    for job, _, _ in members:
                        now = utcnow().isoformat()
                        ctx.finished(job, MemberResult("failed", EXIT_RUN_FAILED, f"submission failed: {message}",
                                                       started_at=now, finished_at=now, duration_s=0.0,
                                                       run_dir=job.run_dir), was_running=False)
                    continue
                for (job, _, timeout), sjob in zip(members, sjobs):
                    tracked.append(_Tracked(job=job, sjob=sjob, timeout_s=timeout))
                    log.info("member %d -> SLURM job %s", job.number, sjob.job_id)
        except Interrupted:
            self._cancel_all(tracked, "interrupted")
            raise
        self._watch(tracked, ctx)

    # -- watching -------------------------------------------------------------------
    def _watch(self, tracked: list[_Tracked], ctx) -> None:
        poll_s = float(self.params.get("poll_s") or 1.0)
        status_every = float(self.params.get("status_interval_s") or 3.0)
        pending = list(tracked)

        def ended(item: _Tracked, state: str) -> bool:
            result = self._result(item, state)
            if result is not None:
                ctx.finished(item.job, result, was_running=item.running_since is not None)
            return result is not None

        def each_round(pending: list[_Tracked]) -> bool:
            if ctx.stopping and not self._stop(pending, ctx):
                return False
            ctx.tick()
            return True

        while pending:
            try:
                follow(pending, self.watch, poll_s=poll_s, status_every_s=status_every,
                       on_started=lambda item: ctx.started(item.job), on_ended=ended, on_round=each_round)
                return
            except Interrupted as exc:
                ctx.interrupt(exc.exit_code)

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
            if item.running_since is None:  # never started: not_run in the summary
                pending.remove(item)
        if reason == "interrupted":
            for item in pending:
                ctx.finished(item.job, self._cancelled_result(item), was_running=True)
            pending.clear()
            return False
        return True

    def _result(self, item: _Tracked, state: str) -> MemberResult | None:
        """The member's result, or None to look again later (state not final yet)."""
        result: MemberResult | None = None
        if self.watch.has_result(item):
            loaded = self.watch.load_result(item)
            if loaded is None:  # still being written
                return None
            outcome, value = loaded
            if outcome == "success" and isinstance(value, dict):
                result = MemberResult.from_dict(value)
            else:
                result = MemberResult("failed", EXIT_RUN_FAILED, f"member raised on the node: {str(value)[-500:]}")
            if result.status == "interrupted" and item.cancelled is None:
                # Signalled by SLURM (scancel, time limit): say what SLURM did, once sacct knows.
                if self.watch.wait_for_final_state(item, state):
                    return None
                slurm = state_result(state, item.sjob.job_id)
                slurm.run_dir, slurm.started_at, slurm.finished_at = result.run_dir, result.started_at, result.finished_at
                slurm.duration_s, slurm.details = result.duration_s, result.details
                result = slurm
        elif item.cancelled is not None:
            result = self._cancelled_result(item)
        else:
            result = state_result(state, item.sjob.job_id)
        if item.cancelled == "timeout":
            result.status = "timed_out"
            result.message = (f"cancelled SLURM job {item.sjob.job_id}: still running "
                              f"{item.timeout_s:g} s + {self.params.get('timeout_margin_s') or 0} s margin after start")
        elif item.cancelled is not None and result.status != "succeeded":
            result.status = "interrupted"
        result.details["slurm_job_id"] = item.sjob.job_id
        result.details["slurm_state"] = state
        result.run_dir = result.run_dir or item.job.run_dir
        if result.started_at is None:
            result.started_at = item.started_at or utcnow().isoformat()
        if result.finished_at is None:
            result.finished_at = utcnow().isoformat()
        if result.duration_s is None and item.running_since is not None:
            result.duration_s = self.watch.duration(item)
        return result

    def _cancelled_result(self, item: _Tracked) -> MemberResult:
        status = "timed_out" if item.cancelled == "timeout" else "interrupted"
        result = MemberResult(status, EXIT_RUN_FAILED if status == "timed_out" else 130,
                              f"SLURM job {item.sjob.job_id} cancelled by rompy ({item.cancelled})",
                              run_dir=item.job.run_dir, started_at=item.started_at,
                              finished_at=utcnow().isoformat())
        result.details["slurm_job_id"] = item.sjob.job_id
        return result

    def _cancel(self, item: _Tracked, reason: str) -> None:
        self.watch.cancel(item, reason)

    def _cancel_all(self, tracked: list[_Tracked], reason: str) -> None:
        self.watch.cancel_all(tracked, reason)
