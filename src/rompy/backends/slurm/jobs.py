"""SLURM jobs through submitit: what the SLURM backend and the SLURM sweep launcher share.

The backend submits one run as one job; the launcher submits a sweep's members as job
arrays. Both submit with the same executor (it never requeues: rompy enforces time
limits itself, and a requeued run would restart in a used run directory), follow their
jobs with the same loop (`follow`: sacct once a round for all jobs, through submitit's
watcher; the scancel watchdog past a job's timeout), read the node's result the same
way, and map a job that ended without one to a status the same way. submitit is
imported only when a job is submitted or read.
"""

from __future__ import annotations

import logging
import math
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger("rompy.slurm")

#: States of a job that has not started yet (as sacct or squeue report them).
PENDING_STATES = ("PENDING", "REQUEUED", "CONFIGURING", "UNKNOWN", "READY", "")
#: States of a job that has not ended yet.
UNFINISHED_STATES = ("PENDING", "RUNNING", "REQUEUED", "COMPLETING", "CONFIGURING", "UNKNOWN", "READY",
                     "SUSPENDED", "RESIZING", "")
#: How long to wait for sacct to report the final state of a job that has ended.
FINAL_STATE_WAIT_S = 30.0


# -- time limits ------------------------------------------------------------------------
_TIME_FORMS = (
    # SLURM's --time grammar (sbatch(1)): minutes, minutes:seconds, hours:minutes:seconds,
    # days-hours, days-hours:minutes, days-hours:minutes:seconds.
    re.compile(r"^(?P<m>\d+)$"),
    re.compile(r"^(?P<m>\d+):(?P<s>\d+)$"),
    re.compile(r"^(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)$"),
    re.compile(r"^(?P<d>\d+)-(?P<h>\d+)$"),
    re.compile(r"^(?P<d>\d+)-(?P<h>\d+):(?P<m>\d+)$"),
    re.compile(r"^(?P<d>\d+)-(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)$"),
)
_FIELD_MAX = {"h": 23, "m": 59, "s": 59}
_FIELD_NAME = {"h": "hours", "m": "minutes", "s": "seconds"}
TIME_LIMIT_HELP = ("a SLURM time limit is minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, "
                   "e.g. '02:00:00' or '1-12:00:00'")


def parse_time_limit(value: Any) -> int:
    """Seconds in a SLURM time limit; an integer is minutes, as sbatch reads it. ValueError if invalid."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(TIME_LIMIT_HELP)
    text = str(value).strip()
    for pattern in _TIME_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        parts = {name: int(match.group(name)) for name in pattern.groupindex}
        for name in list(pattern.groupindex)[1:]:  # the leading field is unbounded, the others are not
            if parts[name] > _FIELD_MAX[name]:
                raise ValueError(f"{_FIELD_NAME[name]} must be at most {_FIELD_MAX[name]} in a SLURM time limit "
                                 "(the leading field may be larger: '48:00:00' or '2-00:00:00')")
        seconds = parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)
        if seconds <= 0:
            raise ValueError("a SLURM time limit must be more than 0")
        return seconds
    raise ValueError(TIME_LIMIT_HELP)


def format_time_limit(seconds: int) -> str:
    """`HH:MM:SS`, or `D-HH:MM:SS` from one day on."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def time_limit_minutes(seconds: float) -> int:
    """sbatch --time in whole minutes (SLURM rounds seconds up too)."""
    return max(1, math.ceil(seconds / 60))


# -- states -----------------------------------------------------------------------------
def slurm_status(state: str, job_id: str) -> tuple[str, str]:
    """(rompy status, message) for a job that ended without a result, from its SLURM state."""
    upper = (state or "").upper()
    if upper.startswith("CANCELLED"):
        return "failed", f"SLURM job {job_id} was cancelled ({state})"
    if upper.startswith("TIMEOUT") or upper.startswith("DEADLINE"):
        return "timed_out", f"SLURM job {job_id} hit its time limit ({state})"
    return "failed", f"SLURM job {job_id} ended {state or 'without a result'}"


def ended_by_slurm(state: str) -> bool:
    """SLURM ended the job (scancel, its time limit, a node failure, out of memory), not the job itself."""
    words = (state or "").split()
    return bool(words) and words[0].upper() in ("CANCELLED", "TIMEOUT", "DEADLINE", "PREEMPTED", "NODE_FAIL",
                                                 "BOOT_FAIL", "OUT_OF_MEMORY")


def is_final(state: str) -> bool:
    """A state SLURM does not leave again (COMPLETED, FAILED, CANCELLED by 0, TIMEOUT, ...)."""
    words = (state or "").split()
    return bool(words) and words[0].upper() not in UNFINISHED_STATES


def _run(argv: list[str], timeout: float = 30) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def squeue_states(job_ids: list[str]) -> dict[str, str]:
    """{job id: state} of the jobs slurmctld still lists (pending, running, completing)."""
    bases = sorted({job_id.split("_")[0] for job_id in job_ids})
    if not bases:
        return {}
    states = {}
    for line in _run(["squeue", "-h", "-r", "-o", "%i|%T", "-j", ",".join(bases)]).splitlines():
        job_id, _, state = line.strip().partition("|")
        if job_id:
            states[job_id] = state
    return states


def squeue_field(job_id: str, fmt: str) -> str:
    """One squeue field of a job slurmctld still lists, e.g. '%P' (partition) or '%r' (pending reason)."""
    return _run(["squeue", "-h", "-j", job_id, "-o", fmt]).strip()


def squeue_started(job_ids: list[str]) -> set[str]:
    """Jobs slurmctld has started (squeue asks the controller; sacct can lag behind it)."""
    return {job_id for job_id, state in squeue_states(job_ids).items()
            if state and state not in ("PENDING", "CONFIGURING", "REQUEUED")}


def expand_nodelist(text: str | None) -> list[str]:
    """Node names in SLURM's compact form ('n[1-3,7],gpu01' -> n1 n2 n3 n7 gpu01), so a record lists each node.

    Zero-padded ranges keep their width ('c[08-10]'); text that is not a node list ('None assigned',
    '') gives no names.
    """
    text = (text or "").strip()
    if not text or " " in text:
        return []
    names: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text + ","):  # split on commas outside brackets
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            names.extend(_expand_one(text[start:i]))
            start = i + 1
    return names


def _expand_one(name: str) -> list[str]:
    """One comma-free item of a node list, its first bracket group expanded (then the rest, recursively)."""
    match = re.match(r"^([^\[]*)\[([^\]]*)\](.*)$", name)
    if not match:
        return [name] if name else []
    prefix, ranges, rest = match.groups()
    tails = _expand_one(rest) if rest else [""]
    out = []
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or int(high or low) - int(low) > 100_000:
            return [name]  # not SLURM's syntax (or no real allocation): keep it as it is
        width = len(low) if low.startswith("0") else 0
        for number in range(int(low), int(high or low) + 1):
            out.extend(f"{prefix}{number:0{width}d}{tail}" for tail in tails)
    return out


def sacct_fields(job_id: str, fields: tuple[str, ...] = ("State", "Partition", "NodeList", "ExitCode", "Submit",
                                                        "Start")) -> dict[str, str]:
    """One job's accounting fields (empty when sacct does not know it yet)."""
    out = _run(["sacct", "-n", "-P", "-X", "-o", ",".join(("JobID",) + fields), "-j", job_id.split("_")[0]])
    for line in out.splitlines():
        values = line.split("|")
        if values and values[0] == job_id:
            return dict(zip(fields, values[1:]))
    return {}


# -- submitting ------------------------------------------------------------------------
def new_executor(folder: str):
    """A submitit SlurmExecutor writing job files to `folder` (may hold %j); never requeues."""
    import submitit

    return submitit.SlurmExecutor(folder=folder, max_num_timeout=0)


def submission_error(exc: BaseException) -> str:
    """sbatch's complaint in one line."""
    return " ".join(str(exc).split())[:500] or type(exc).__name__


# -- following jobs ----------------------------------------------------------------------
@dataclass
class TrackedJob:
    """A submitted job and what rompy has seen of it."""

    sjob: Any                      # submitit Job (job_id, watcher, paths, cancel)
    timeout_s: float               # rompy's timeout, counted from when the job is seen running
    running_since: float | None = None
    started_at: str | None = None  # ISO time it was first seen running
    cancelled: str | None = None   # why rompy cancelled it: "timeout", "fail_fast", "interrupted"
    seen_done_at: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        return str(self.sjob.job_id)


class JobWatch:
    """Follows submitted jobs: states, start, result, timeout watchdog, cancellation."""

    def __init__(self, margin_s: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.margin_s = float(margin_s or 0)
        self.clock = clock

    def refresh(self, items: list[TrackedJob]) -> None:
        """Ask sacct once for every job submitit's watcher knows (all of a sweep's)."""
        if items:
            try:
                items[0].sjob.watcher.update()
            except Exception as exc:  # sacct hiccup: try again next round
                log.debug("sacct failed: %s", exc)

    @staticmethod
    def state(item: TrackedJob) -> str:
        """The job's last known state, upper case ('' or UNKNOWN before sacct knows it)."""
        try:
            return str(item.sjob.watcher.get_state(item.sjob.job_id, mode="cache")).upper()
        except Exception:
            return "UNKNOWN"

    def note_state(self, item: TrackedJob, state: str) -> bool:
        """Record the start of a job seen past pending; True the first time."""
        if item.running_since is None and state not in PENDING_STATES:
            self.mark_started(item)
            return True
        return False

    def mark_started(self, item: TrackedJob) -> None:
        from rompy.core.time import utcnow

        item.running_since = self.clock()
        item.started_at = utcnow().isoformat()

    @staticmethod
    def has_result(item: TrackedJob) -> bool:
        return item.sjob.paths.result_pickle.exists()

    @staticmethod
    def load_result(item: TrackedJob) -> tuple[str, Any] | None:
        """("success", value) or ("error", traceback text); None if absent or still being written."""
        from submitit.core.utils import pickle_load

        path = item.sjob.paths.result_pickle
        if not path.exists():
            return None
        try:
            outcome, value = pickle_load(path)
        except Exception:  # still being written
            return None
        return str(outcome), value

    def ended(self, item: TrackedJob, state: str) -> bool:
        """The job left the queue, or wrote its result."""
        return self.has_result(item) or state not in UNFINISHED_STATES

    def overdue(self, item: TrackedJob) -> bool:
        """Running past its timeout (+ margin) and not yet cancelled by rompy."""
        return (item.running_since is not None and item.cancelled is None
                and self.clock() - item.running_since > item.timeout_s + self.margin_s)

    def wait_for_final_state(self, item: TrackedJob, state: str) -> bool:
        """True while a job that has ended should wait for sacct's final state (at most FINAL_STATE_WAIT_S)."""
        if is_final(state):
            return False
        if item.seen_done_at is None:
            item.seen_done_at = self.clock()
        return self.clock() - item.seen_done_at < FINAL_STATE_WAIT_S

    def cancel(self, item: TrackedJob, reason: str) -> None:
        """scancel the job and remember why."""
        item.cancelled = reason
        try:
            item.sjob.cancel(check=False)
        except Exception as exc:
            log.warning("scancel %s failed: %s", item.sjob.job_id, exc)

    def cancel_all(self, items: list[TrackedJob], reason: str) -> None:
        for item in items:
            if item.cancelled is None:
                self.cancel(item, reason)

    def duration(self, item: TrackedJob) -> float | None:
        if item.running_since is None:
            return None
        return round(self.clock() - item.running_since, 3)


# -- the loop ------------------------------------------------------------------------------
def follow(pending: list[TrackedJob], watch: JobWatch, *, poll_s: float, status_every_s: float,
           on_started: Callable[[TrackedJob], None], on_ended: Callable[[TrackedJob, str], bool],
           on_round: Callable[[list[TrackedJob]], bool] = lambda pending: True) -> None:
    """Poll SLURM until no job is left in `pending`: the one loop of the backend and the sweep launcher.

    sacct is asked every `status_every_s` for all jobs at once. Each round, a job seen
    running for the first time goes to `on_started`; one that has ended goes to `on_ended`,
    which returns False to look again next round (its state still settling); one running
    past its timeout is cancelled. `on_round` runs last and returns False to stop following.
    `pending` shrinks as jobs end, so a caller interrupted half-way can follow the rest again.
    """
    last_status = float("-inf")
    while pending:
        now = watch.clock()
        if now - last_status >= status_every_s:
            watch.refresh(pending)
            last_status = now
        for item in list(pending):
            state = watch.state(item)
            if watch.note_state(item, state):
                on_started(item)
            if watch.ended(item, state):
                if on_ended(item, state):
                    pending.remove(item)
                continue
            if watch.overdue(item):
                log.warning("SLURM job %s still running %g s after it started, past its timeout: cancelling it",
                            item.job_id, round(watch.clock() - (item.running_since or now)))
                watch.cancel(item, "timeout")
        if not on_round(pending):
            return
        time.sleep(poll_s)


# -- after a killed rompy ---------------------------------------------------------------
def cancel_after_killed_run(notes: dict) -> str:
    """The active-run registry's hook for a SLURM run whose rompy died: scancel its job.

    Returns a phrase for the run's record ('' if no job was noted).
    """
    import shutil

    job_id = notes.get("slurm_job_id")
    if not job_id:
        return ""
    if shutil.which("scancel") is None:
        return f"; its SLURM job {job_id} could not be cancelled here (no scancel)"
    try:
        proc = subprocess.run(["scancel", str(job_id)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"; scancel {job_id} failed: {exc}"
    if proc.returncode != 0:
        return f"; scancel {job_id} failed: {proc.stderr.strip()[:200]}"
    log.warning("cancelled SLURM job %s of a killed rompy", job_id)
    return f"; SLURM job {job_id} cancelled"
