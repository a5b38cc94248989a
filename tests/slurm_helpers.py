"""Shared SLURM test helpers: the one-node cluster fixture, and squeue/sacct queries and polling."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from tests.conftest import REPO

SLURM_SCRIPT = REPO / "scripts" / "services" / "slurm.sh"


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node SLURM cluster with accounting; fails (not skips) if it cannot start."""
    if not SLURM_SCRIPT.exists():
        pytest.fail(f"{SLURM_SCRIPT} is absent: it is needed to start SLURM")
    if shutil.which("bash") is None:
        pytest.fail("bash is needed to start SLURM")
    proc = subprocess.run(["bash", str(SLURM_SCRIPT)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"scripts/services/slurm.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return True


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
