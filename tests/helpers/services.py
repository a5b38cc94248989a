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
