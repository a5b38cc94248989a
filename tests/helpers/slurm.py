"""The SLURM tests: a `backend=slurm` run as a process, and what squeue and sacct say about jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path


class Run:
    """One `python -m rompy backend=slurm ...` run in its own folder, with a unique run id."""

    def __init__(self, root: Path):
        self.root = root
        self.output = root / "output"
        self.run_id = f"slurm-{uuid.uuid4().hex[:10]}"
        self.run_dir = self.output / self.run_id
        self.job_name = f"rompy-{self.run_id}"

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "rompy", "backend=slurm", f"run_id={self.run_id}",
                f"output_dir={self.output}", *extra]

    def run(self, *extra: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*extra), cwd=self.root, env={**os.environ, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

    def popen(self, *extra: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*extra), cwd=self.root, env={**os.environ, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def record(self) -> dict:
        return json.loads((self.run_dir / "rompy-result.json").read_text())


def squeue_ids() -> set[str]:
    """The ids of every job (and array task) squeue lists."""
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def sacct(job_id: str, field: str = "State") -> str:
    """sacct's `field` of job `job_id` (a plain job or an array task `ID_N`), or "" if it is not listed."""
    out = subprocess.run(["sacct", "-n", "-P", "-X", "-o", f"JobID,{field}", "-j", job_id.split("_")[0]],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        jid, _, value = line.partition("|")
        if jid == job_id:
            return value
    return ""


def sacct_eventually(job_id: str, field: str, expected: str, timeout: float = 30) -> bool:
    """True once sacct reports `expected` for `field` (slurmdbd fills some fields in late)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sacct(job_id, field) == expected:
            return True
        time.sleep(0.5)
    return False


def running_job(name: str, index: int | None = None, timeout: float = 180) -> str:
    """The id of the job called `name` (or of its array task `index`) once SLURM runs it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i %T"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            job_id, state = line.split()
            if (index is None or job_id.endswith(f"_{index}")) and state == "RUNNING":
                return job_id
        time.sleep(0.3)
    raise AssertionError(f"job {name} never ran" if index is None else f"array task {index} of {name} never ran")


def wait_gone(job_id: str, timeout: float = 60) -> bool:
    """True once squeue no longer lists the job (it ended and left COMPLETING)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job_id not in squeue_ids():
            return True
        time.sleep(0.5)
    return False


def wait_sacct(job_id: str, prefix: tuple[str, ...], timeout: float = 60) -> str:
    """sacct's state once it starts with one of `prefix` (or the last one seen)."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = sacct(job_id)
        if state.startswith(prefix):
            break
        time.sleep(0.5)
    return state
