"""SlurmConfig: submit the run to SLURM as one batch job (through submitit) and follow it.

On the node the job runs the model as the local backend does (rompy.backends.slurm.node):
a process group in the run directory, its output in logs/stdout.log and logs/stderr.log,
nothing left behind. The submitting rompy follows the job (rompy.backends.slurm.jobs),
copies those log files to its console as they grow, and reads the node's result and the
job's final SLURM state. The run directory must be on a filesystem the nodes share, with
the same Python environment there.

`timeout` counts from when the job is seen running; a job still running then is
cancelled (`timed_out`). On the node the model is stopped `NODE_MARGIN_S` later anyway,
in case the submitting rompy is gone; SLURM's own `time_limit` is the last resort. A job
cancelled by anyone else is `failed`, with SLURM's state in the message; SIGINT/SIGTERM
of rompy cancel it (`interrupted`). The model's environment is rompy's own plus
`env_vars`, passed by sbatch's environment export, so no value is written to a job file.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from rompy.backends.base import BackendConfig, BackendResult, Job, Resources, Stopwatch, existing_working_dir

log = logging.getLogger("rompy.backends.slurm")

#: On the node the model is stopped this long after `timeout` (the submitting rompy cancels the job at `timeout`).
NODE_MARGIN_S = 60
POLL_S = 0.5            # log tailing and result checks
STATUS_INTERVAL_S = 2.0  # sacct
PENDING_NOTE_S = 60.0    # how often "still pending (reason)" is logged


# sbatch options rompy sets itself: the field to use instead (None: rompy needs it as it is).
_OWN_OPTIONS: dict[str, str | None] = {
    "partition": "queue", "nodes": "nodes", "ntasks": "ntasks", "cpus-per-task": "cpus_per_task",
    "time": "time_limit", "account": "account", "qos": "qos", "reservation": "reservation",
    "job-name": "job_name", "output": "output_file", "error": "error_file", "mail-type": "mail_type",
    "mail-user": "mail_user", "array": None, "wrap": None, "signal": None, "open-mode": None,
    "export": None, "wait": None, "test-only": None, "parsable": None,
}
_OPTION_RE = re.compile(r"^--(?P<name>[A-Za-z][A-Za-z0-9-]*)(?:=(?P<value>.*))?$", re.DOTALL)
_MAIL_TYPES = {"NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND", "STAGE_OUT", "TIME_LIMIT",
               "TIME_LIMIT_90", "TIME_LIMIT_80", "TIME_LIMIT_50", "ARRAY_TASKS"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _plain_text(value: str | None, what: str, spaces: bool = False) -> str | None:
    """Values end up on '#SBATCH' lines of a shell script: no control characters, no empty names."""
    if value is None:
        return None
    if not value.strip():
        raise ValueError(f"{what} must not be empty; leave it unset instead")
    if _CONTROL.search(value) or (not spaces and re.search(r"\s", value)):
        raise ValueError(f"{what} must be one word without control characters" if not spaces
                         else f"{what} must not contain control characters (newlines, tabs)")
    return value


class SlurmConfig(BackendConfig):
    """Submit the run to a SLURM partition as one batch job; follow it to the end."""

    type: Literal["slurm"] = "slurm"
    reaper: ClassVar[str | None] = "rompy.backends.slurm.jobs:cancel_after_killed_run"
    queue: str | None = Field(
        None, description="SLURM partition to submit to (sbatch --partition; 'partition' is accepted too); "
        "default: the cluster's default partition.",
    )
    nodes: int = Field(1, ge=1, le=100, description="Nodes to allocate (sbatch --nodes).")
    ntasks: int = Field(
        1, ge=1, description="Tasks to allocate (sbatch --ntasks); with mpiexec, the ranks of '<mpiexec> -n <ntasks>'.",
    )
    cpus_per_task: int = Field(
        1, ge=1, le=128,
        description="Cores per task (sbatch --cpus-per-task); exported as OMP_NUM_THREADS unless set in env_vars.",
    )
    time_limit: str = Field(
        "01:00:00", description="SLURM's own time limit (sbatch --time): HH:MM:SS, D-HH:MM:SS, minutes, "
        "or SLURM's other forms; kept as [D-]HH:MM:SS. rompy's timeout acts first if shorter.",
    )
    account: str | None = Field(None, description="Account charged for the job (sbatch --account).")
    qos: str | None = Field(None, description="Quality of service (sbatch --qos).")
    reservation: str | None = Field(None, description="Reservation to run in (sbatch --reservation).")
    job_name: str | None = Field(None, description="Job name (sbatch --job-name); default: rompy-<run_id>.")
    output_file: str | None = Field(
        None, description="SLURM's own output file of the job (sbatch --output, %j allowed), relative to the run "
        "directory; default: logs/slurm/<job id>/. The model's stdout is in logs/stdout.log either way.",
    )
    error_file: str | None = Field(
        None, description="SLURM's own error file of the job (sbatch --error), relative to the run directory.",
    )
    mail_type: str | None = Field(None, description="When SLURM sends mail (sbatch --mail-type), e.g. END,FAIL.")
    mail_user: str | None = Field(None, description="Who gets SLURM's mail (sbatch --mail-user).")
    working_dir: str | None = Field(
        None, description="Existing directory to run the job in instead of the run directory (the nodes must see it "
        "at the same path).",
    )
    additional_options: list[str] = Field(
        default_factory=list,
        description="Other sbatch options, each '--name=value' or '--flag', e.g. '--mem=4G', '--exclusive'.",
    )

    # -- validation ----------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _partition_is_queue(cls, data: Any):
        """`partition` (SLURM's word) is another name for `queue` (upstream rompy's)."""
        if isinstance(data, dict) and "partition" in data:
            data = dict(data)
            partition = data.pop("partition")
            if data.get("queue") not in (None, partition):
                raise ValueError("queue and partition are the same setting: give one of them")
            data["queue"] = partition
        return data

    @field_validator("time_limit", mode="before")
    @classmethod
    def _time_limit(cls, value):
        from rompy.backends.slurm.jobs import format_time_limit, parse_time_limit

        return format_time_limit(parse_time_limit(value))

    _working_dir_exists = field_validator("working_dir")(existing_working_dir)

    @field_validator("queue", "account", "qos", "reservation", "mail_user")
    @classmethod
    def _one_word(cls, value, info):
        return _plain_text(value, info.field_name)

    @field_validator("job_name", "output_file", "error_file")
    @classmethod
    def _text(cls, value, info):
        return _plain_text(value, info.field_name, spaces=True)

    @field_validator("mail_type")
    @classmethod
    def _mail_type(cls, value):
        if value is None:
            return None
        kinds = [kind.strip().upper() for kind in value.split(",")]
        unknown = [kind for kind in kinds if kind not in _MAIL_TYPES]
        if unknown:
            raise ValueError(f"mail_type {','.join(unknown)[:100]!r} is not a SLURM mail type; "
                             f"use a comma-separated list of {', '.join(sorted(_MAIL_TYPES))}")
        return ",".join(kinds)

    @field_validator("additional_options")
    @classmethod
    def _options(cls, value):
        seen = set()
        for option in value:
            match = _OPTION_RE.match(option)
            if not match or _CONTROL.search(option):
                raise ValueError(f"additional option {option[:100]!r} is not '--name=value' or '--flag' "
                                 "(long sbatch options, one per item, no control characters)")
            name = match.group("name")
            if name in _OWN_OPTIONS:
                field = _OWN_OPTIONS[name]
                raise ValueError(f"additional option --{name} is set by rompy" + (f"; use {field} instead" if field else ""))
            if name in seen:
                raise ValueError(f"additional option --{name} is given twice")
            seen.add(name)
        return value

    # -- derived -------------------------------------------------------------------------
    @property
    def cpu(self) -> int:
        """The MPI ranks of '<mpiexec> -n <cpu>': the job's tasks."""
        return self.ntasks

    @property
    def time_limit_seconds(self) -> int:
        from rompy.backends.slurm.jobs import parse_time_limit

        return parse_time_limit(self.time_limit)

    def sbatch_options(self) -> dict[str, Any]:
        """additional_options as submitit's additional_parameters ({name: value or True})."""
        out: dict[str, Any] = {}
        for option in self.additional_options:
            match = _OPTION_RE.match(option)
            out[match.group("name")] = True if match.group("value") is None else match.group("value")
        return out

    def submitit_parameters(self, job: Job) -> dict[str, Any]:
        """What the job asks sbatch for (submitit's SlurmExecutor parameters)."""
        from rompy.backends.slurm.jobs import time_limit_minutes

        extra: dict[str, Any] = {"ntasks": self.ntasks, **self.sbatch_options()}
        if self.reservation:
            extra["reservation"] = self.reservation
        for name, value in (("output", self.output_file), ("error", self.error_file)):
            if value:
                extra[name] = str(job.run_dir / Path(value).expanduser())
        params: dict[str, Any] = {
            "job_name": self.job_name or f"rompy-{job.run_id}",
            "time": time_limit_minutes(self.time_limit_seconds),
            "nodes": self.nodes,
            "cpus_per_task": self.cpus_per_task,
            "use_srun": False,  # the job runs rompy's runner once; the model starts its own tasks (mpiexec/srun)
            "additional_parameters": extra,
        }
        for name in ("account", "qos", "mail_type", "mail_user"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.queue:
            params["partition"] = self.queue
        return params

    # -- pre-flight ----------------------------------------------------------------------
    def preflight(self) -> None:
        """submitit installed, SLURM's commands there, the controller answering, the partition known."""
        from rompy.errors import PreflightError

        super().preflight()
        try:
            import submitit  # noqa: F401
        except ImportError as exc:
            from rompy.errors import MissingExtra

            raise (MissingExtra.of(exc, "backend=slurm") or MissingExtra("backend=slurm", "submitit")) from None
        missing = [tool for tool in ("sbatch", "squeue", "sacct", "scancel", "sinfo") if shutil.which(tool) is None]
        if missing:
            raise PreflightError(f"backend=slurm: {', '.join(missing)} not found on PATH; "
                                 "run rompy where SLURM's commands are installed (a login node)")
        try:
            proc = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PreflightError(f"backend=slurm: sinfo failed: {exc}") from None
        if proc.returncode != 0:
            reason = " ".join(proc.stderr.split())[:300] or f"exit code {proc.returncode}"
            raise PreflightError(f"backend=slurm: SLURM's controller does not answer (sinfo: {reason})")
        listed = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        partitions = [name.rstrip("*") for name in listed]
        if self.queue is not None:
            unknown = [name for name in self.queue.split(",") if name not in partitions]
            if unknown:
                raise PreflightError(f"backend.queue: partition {unknown[0]!r} does not exist on this cluster; "
                                     f"partitions: {', '.join(partitions) or 'none'}")
        elif not any(name.endswith("*") for name in listed):
            raise PreflightError("backend.queue: this cluster has no default partition; choose one of: "
                                 f"{', '.join(partitions) or 'none'}")
        try:  # job states come from accounting: without it a cancelled job could never be told apart
            proc = subprocess.run(["sacct", "-n", "-X", "-S", "now"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            raise PreflightError(f"backend=slurm: sacct failed: {exc}") from None
        if proc.returncode != 0:
            reason = " ".join(proc.stderr.split())[:300] or f"exit code {proc.returncode}"
            raise PreflightError(f"backend=slurm: SLURM accounting does not answer (sacct: {reason}); "
                                 "rompy reads job states from it")

    # -- running -------------------------------------------------------------------------
    def argv(self, command: str | list[str]) -> list[str]:
        return [str(part) for part in command] if isinstance(command, list) else ["/bin/sh", "-c", command]

    def node_spec(self, job: Job) -> dict[str, Any]:
        """What the node needs to run the command: no environment values (sbatch exports those)."""
        return {
            "argv": self.argv(job.command),
            "cwd": str(Path(self.working_dir).expanduser().resolve()) if self.working_dir else str(job.run_dir),
            "logs_dir": str(job.logs_dir),
            "timeout": self.timeout + NODE_MARGIN_S,
            "token": job.token,
            "omp_threads": None if "OMP_NUM_THREADS" in self.env_vars else str(self.cpus_per_task),
        }

    def resources(self) -> Resources:
        """The job's cores and time limit on the cluster; it holds none of this machine's while it runs."""
        return Resources(cpus=float(self.cpus_per_task * self.ntasks), timeout_s=self.timeout, local_cpus=0.0)

    def execute(self, job: Job) -> BackendResult:
        from rompy.backends.slurm import jobs
        from rompy.backends.slurm.node import run_on_node
        from rompy.errors import Interrupted
        from rompy.runtime.processes import environment
        from rompy.runtime.signals import interruptible

        clock = Stopwatch()
        params = self.submitit_parameters(job)
        with interruptible():
            executor = jobs.new_executor(str(job.logs_dir / "slurm" / "%j"))
            try:
                executor.update_parameters(**params)
                # In rompy's environment while sbatch runs: the job inherits the values, which are
                # never written to a file.
                with environment(self.env_vars):
                    sjob = executor.submit(run_on_node, self.node_spec(job))
            except (Interrupted, KeyboardInterrupt):
                raise
            except Exception as exc:  # sbatch refused: bad account, qos, option, ...
                message = f"sbatch refused the job: {jobs.submission_error(exc)}"
                log.error("%s", message)
                return clock.result("failed", None, message)
            job.note(slurm_job_id=str(sjob.job_id))  # a killed rompy's next start scancels it
            item = jobs.TrackedJob(sjob=sjob, timeout_s=self.timeout)
            # slurmctld knows the partition at once; sacct fills it in late for the default partition.
            item.extra["partition"] = jobs.squeue_field(item.job_id, "%P") or self.queue
            log.info("submitted SLURM job %s (%s, partition %s)", sjob.job_id, params["job_name"],
                     item.extra["partition"] or "default")
            watch = jobs.JobWatch()
            tails = [_Tail(job.log_path("stdout"), sys.stdout), _Tail(job.log_path("stderr"), sys.stderr)]
            try:
                _follow(item, watch, tails)
            except (Interrupted, KeyboardInterrupt):
                watch.cancel(item, "interrupted")
                log.warning("cancelled SLURM job %s", sjob.job_id)
                raise
            finally:
                for tail in tails:
                    tail.close()
        return self._result(job, item, params, clock)

    def _result(self, job, item, params, clock: Stopwatch) -> BackendResult:
        from rompy.backends.slurm.jobs import ended_by_slurm, expand_nodelist, sacct_fields, slurm_status

        state, outcome = item.extra["state"], item.extra["outcome"]
        node: dict[str, Any] | None = None
        if outcome is not None and outcome[0] == "success" and isinstance(outcome[1], dict):
            node = outcome[1]
        info = sacct_fields(item.job_id)
        final_state = info.get("State") or state
        exit_code = None
        if node is not None:  # the runner on the node reported (the model's exit code, its own timeout)
            status, message, exit_code = node["status"], node.get("message", ""), node.get("exit_code")
        elif outcome is not None:
            status, message = "failed", f"the job raised on the node: {str(outcome[1]).strip()[-500:]}"
        else:  # no result at all: killed before it could write one, or the job never started rompy
            status, message = slurm_status(final_state, item.job_id)
        if status != "succeeded" and ended_by_slurm(final_state):  # scancel, time limit, node failure, OOM
            status, message = slurm_status(final_state, item.job_id)
        slurm_log = (params["additional_parameters"].get("output") or str(item.sjob.paths.stdout)).replace(
            "%j", item.job_id)
        if node is None and item.cancelled is None:
            message += f" (SLURM's log of the job: {slurm_log})"
        if item.cancelled == "timeout":
            status = "timed_out"
            message = f"cancelled SLURM job {item.job_id}: still running after the {self.timeout} s timeout"
        node_details = (node or {}).get("details", {})
        nodelist = node_details.get("nodelist") or info.get("NodeList")
        details = {
            "slurm_job_id": item.job_id,
            "partition": info.get("Partition") or item.extra.get("partition"),
            "slurm_state": final_state,
            "job_name": params["job_name"],
            "node": node_details.get("host") or info.get("NodeList"),
            "nodes": expand_nodelist(nodelist),
            "slurm_log": slurm_log,
            "queued_s": _seconds_between(info.get("Submit"), info.get("Start")),
        }
        return clock.result(status, exit_code, message, details=details,
                            logs={stream: str(job.log_path(stream)) for stream in ("stdout", "stderr")})


def _follow(item, watch, tails) -> None:
    """Follow one job until it has ended and left the queue; its last state and the node's outcome go to item.extra."""
    from rompy.backends.slurm.jobs import FINAL_STATE_WAIT_S, follow, is_final, squeue_field, squeue_states

    last_pending_note = [watch.clock()]

    def ended(item, state: str) -> bool:
        outcome = watch.load_result(item)
        if outcome is None and watch.has_result(item):  # still being written
            return False
        # Wait (a little) until sacct has the final state and slurmctld no longer lists the job,
        # so that the record says how it ended and nothing of it is left.
        if item.seen_done_at is None:
            item.seen_done_at = watch.clock()
        settled = is_final(state) and item.job_id not in squeue_states([item.job_id])
        if not settled and watch.clock() - item.seen_done_at < FINAL_STATE_WAIT_S:
            watch.refresh([item])
            return False
        item.extra.update(state=state, outcome=outcome)
        return True

    def each_round(pending) -> bool:
        for tail in tails:
            tail.pump()
        if item.running_since is None and watch.clock() - last_pending_note[0] >= PENDING_NOTE_S:
            reason = squeue_field(item.job_id, "%r")
            log.info("SLURM job %s is still pending%s", item.job_id, f" ({reason})" if reason else "")
            last_pending_note[0] = watch.clock()
        return True

    follow([item], watch, poll_s=POLL_S, status_every_s=STATUS_INTERVAL_S,
           on_started=lambda item: log.info("SLURM job %s is running", item.job_id),
           on_ended=ended, on_round=each_round)


# -- helpers --------------------------------------------------------------------------------
def _seconds_between(start: str | None, end: str | None) -> int | None:
    """Seconds between two of sacct's timestamps (None if either is unknown)."""
    from datetime import datetime

    try:
        return int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except (TypeError, ValueError):
        return None


class _Tail:
    """Copies what the job appends to one of the run's log files to rompy's console, line by line."""

    def __init__(self, path: Path, console: IO[str]):
        from rompy.runtime.output import LineCopier

        self.path = path
        self.copier = LineCopier(console)
        self.fh: IO[bytes] | None = None

    def pump(self) -> None:
        if self.fh is None:
            try:
                self.fh = open(self.path, "rb")
            except OSError:
                return
        try:
            self.copier.feed(self.fh.read())
        except OSError:
            return

    def close(self) -> None:
        self.pump()
        self.copier.close()
        if self.fh is not None:
            self.fh.close()
