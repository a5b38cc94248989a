"""SLURM executor: each member is a task of a SLURM job array, submitted with submitit.

Why not hydra-submitit-launcher as it is (DESIGN §4): it sets resources once for
the whole array, composes every member again on the node, and collects results
with `[j.results()[0] ...]`, raising at the first cancelled job so the others are
never reported. Here:

* members are composed once, in the sweep, and shipped to the node composed;
* members are grouped by the resources they ask for and each group is one array:
  cpus per task = ceil(backend.cpu), time limit = backend.timeout + margin
  (rounded up to minutes), memory = `mem_gb` or a docker member's backend.memory;
  partition, account, qos, array parallelism and extra sbatch options from the
  launcher config;
* jobs are polled, not waited on: each member is recorded when it ends, whatever
  the others do. A job that ends without a result (scancel, node failure, SLURM's
  own time limit) is reported from its SLURM state: CANCELLED -> failed, TIMEOUT
  -> timed_out, anything else -> failed;
* a member's timeout is enforced twice: rompy stops the model at backend.timeout
  inside the job, and the launcher cancels (scancel) a job still running
  `timeout_margin_s` after that; SLURM's time limit is the last resort;
* on Ctrl-C or fail-fast the sweep cancels its remaining jobs.

Submitting, following jobs (states, start, result pickles, the scancel watchdog)
and mapping SLURM states to statuses are shared with the SLURM backend
(`backend=slurm`, one run as one job): see rompy.slurm_jobs.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from rompy import slurm_jobs
from rompy.errors import EXIT_RUN_FAILED, Interrupted
from rompy.results import utcnow
from rompy.slurm_jobs import JobWatch, TrackedJob, squeue_started
from rompy.sweep.records import MemberResult

log = logging.getLogger("rompy.sweep")

# Launcher keys rompy handles itself; every other non-null key goes to submitit as is.
_OWN_KEYS = {"submitit_folder", "cpus_per_task", "timeout_min", "timeout_margin_s", "mem_gb",
             "poll_s", "status_interval_s", "name", "max_num_timeout", "tasks_per_node", "nodes"}


def run_remote(task_function, member, run_dir):
    """Runs on the SLURM node: the member, through the same task, as in any launcher."""
    import signal

    from hydra.core.utils import setup_globals

    from rompy.sweep.member import run_member

    # submitit turns SLURM's pre-time-limit SIGUSR2 into an exception inside the member
    # (to requeue it); rompy enforces the member's timeout itself, so the warning is ignored.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    setup_globals()
    result = run_member(task_function, member, None, run_dir)
    array_id = os.environ.get("SLURM_ARRAY_JOB_ID")
    result.details["slurm_job_id"] = (f"{array_id}_{os.environ.get('SLURM_ARRAY_TASK_ID')}" if array_id
                                      else os.environ.get("SLURM_JOB_ID"))
    result.details["host"] = os.uname().nodename
    return result.to_dict()


def member_resources(task_cfg, params: dict[str, Any]) -> dict[str, Any]:
    """sbatch resources for one member: cpus, time limit (minutes), memory."""
    from omegaconf import OmegaConf

    cpu = OmegaConf.select(task_cfg, "backend.cpu", default=None)
    timeout = OmegaConf.select(task_cfg, "backend.timeout", default=3600)
    cpus = params.get("cpus_per_task") or max(1, math.ceil(float(cpu or 1)))
    margin = float(params.get("timeout_margin_s") or 0)
    minutes = params.get("timeout_min") or (math.ceil((float(timeout) + margin) / 60) + 1)
    resources: dict[str, Any] = {"cpus_per_task": int(cpus), "time": int(minutes)}
    if params.get("mem_gb"):
        resources["mem"] = f"{int(params['mem_gb'])}GB"
    else:
        memory = OmegaConf.select(task_cfg, "backend.memory", default=None)
        if memory:
            from rompy.rules import parse_memory

            resources["mem"] = f"{math.ceil(parse_memory(memory) / 2**20)}M"
    return resources


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
        from omegaconf import OmegaConf

        folder = self.params.get("submitit_folder") or os.path.join(str(ctx.master.hydra.sweep.dir), ".submitit", "%j")
        executor = slurm_jobs.new_executor(folder)
        groups: dict[tuple, list] = {}
        for job in jobs:
            member = ctx.prepare(job)
            if member is None:
                continue
            resources = member_resources(member.task_cfg, self.params)
            timeout = float(OmegaConf.select(member.task_cfg, "backend.timeout", default=3600))
            groups.setdefault(tuple(sorted(resources.items())), []).append((job, member, timeout))
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
        margin = float(self.params.get("timeout_margin_s") or 0)
        pending = list(tracked)
        last_status = float("-inf")
        while pending:
            try:
                now = self.clock()
                if now - last_status >= status_every:
                    self._refresh(pending)
                    last_status = now
                for item in list(pending):
                    state = self._state(item)
                    if self.watch.note_state(item, state):
                        ctx.started(item.job)
                    if self.watch.ended(item, state):
                        result = self._result(item, state)
                        if result is None:
                            continue
                        pending.remove(item)
                        ctx.finished(item.job, result, was_running=item.running_since is not None)
                        continue
                    if self.watch.overdue(item):
                        log.warning("member %d ran past backend.timeout + %gs: cancelling SLURM job %s",
                                    item.job.number, margin, item.sjob.job_id)
                        self._cancel(item, "timeout")
                if ctx.stopping:
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
                        return
                ctx.tick()
                time.sleep(poll_s)
            except Interrupted as exc:
                ctx.interrupt(exc.exit_code)

    def _refresh(self, pending: list[_Tracked]) -> None:
        self.watch.refresh(pending)

    def _state(self, item: _Tracked) -> str:
        return self.watch.state(item)

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
