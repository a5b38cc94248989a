"""Starting the integration tier's real services (a Docker engine, a SLURM cluster) from the tests."""

from __future__ import annotations

import fcntl
import subprocess
from contextlib import contextmanager

import pytest

from tests.helpers.cli import REPO

SERVICES = REPO / "scripts" / "services"


@contextmanager
def machine_lock():
    """One test worker at a time starts services or creates users (pytest -n 4 runs four)."""
    with open("/tmp/rompy-test-services.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def start_service(script: str, timeout: float) -> None:
    path = SERVICES / script
    if not path.is_file():
        pytest.fail(f"{path} is absent: it is needed to start the service")
    proc = subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def multinode_env() -> dict[str, str]:
    """{"SLURM_CONF": ...} of the emulated many-node cluster, as its script prints it (one place knows the path)."""
    proc = subprocess.run(["bash", str(SERVICES / "slurm-multinode.sh"), "--env"], capture_output=True, text=True,
                          timeout=30)
    name, _, value = proc.stdout.strip().partition("=")
    if proc.returncode != 0 or name != "SLURM_CONF" or not value:
        pytest.fail(f"slurm-multinode.sh --env printed {proc.stdout!r} ({proc.returncode}): {proc.stderr.strip()}")
    return {name: value}
