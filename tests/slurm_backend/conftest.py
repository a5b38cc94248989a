"""Helpers for the SLURM backend tests: the one-node cluster, the CLI as a process, job states."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLURM_SCRIPT = REPO / "scripts" / "services" / "slurm.sh"


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node SLURM cluster with accounting; fails (not skips) if it cannot start."""
    if shutil.which("bash") is None:
        pytest.fail("bash is needed to start SLURM")
    proc = subprocess.run(["bash", str(SLURM_SCRIPT)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"scripts/services/slurm.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return True


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


@pytest.fixture
def slurm_run(tmp_path) -> Run:
    return Run(tmp_path)


def squeue_ids() -> set[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def sacct(job_id: str, field: str = "State") -> str:
    out = subprocess.run(["sacct", "-n", "-P", "-X", "-o", f"JobID,{field}", "-j", job_id],
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


def running_job(name: str, timeout: float = 180) -> str:
    """The id of the job called `name` once SLURM runs it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i %T"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            job_id, state = line.split()
            if state == "RUNNING":
                return job_id
        time.sleep(0.3)
    raise AssertionError(f"job {name} never ran")


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


def processes_matching(pattern: str) -> str:
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout.strip()


def marker() -> str:
    """A sleep length nothing else on the machine uses, to find the model's processes."""
    return f"7{uuid.uuid4().int % 100000:05d}"
