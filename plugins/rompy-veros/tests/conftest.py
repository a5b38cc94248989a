"""Fixtures of rompy-veros's tests: rompy's own (tests/conftest.py at the repository root, which pytest does
not apply to this folder by itself), the Veros Docker image, and running rompy in a test's folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:  # rompy's tests package, for its fixtures and helpers
    sys.path.insert(0, str(REPO))

from tests.conftest import docker_client, own_active_run_registry, slurm_cluster, workdir  # noqa: E402,F401
from tests.helpers.cli import run_rompy  # noqa: E402
from tests.helpers.services import machine_lock  # noqa: E402

PLUGIN = Path(__file__).resolve().parents[1]
IMAGE = "rompy-veros:latest"


@pytest.fixture(scope="session")
def veros_image(docker_client):  # noqa: F811 - the imported fixture
    """The Veros image, built offline as the test set-up builds it (scripts/services/test-images.sh)."""
    import subprocess

    from docker.errors import ImageNotFound

    with machine_lock():
        try:
            docker_client.images.get(IMAGE)
        except ImageNotFound:
            proc = subprocess.run(["bash", str(PLUGIN / "docker" / "build-offline.sh")], capture_output=True,
                                  text=True, timeout=900)
            assert proc.returncode == 0, proc.stderr
    return IMAGE


@pytest.fixture
def rompy(workdir):  # noqa: F811 - the imported fixture
    """`python -m rompy ARGS` in this test's empty folder; returns the completed process."""
    def run(*args: str, timeout: float = 600):
        return run_rompy(*args, cwd=workdir, timeout=timeout)

    return run
