"""Fixtures every test can use: an own active-run registry, an empty working folder, figures for
docs/reliability.md, the real services of the integration tier (Docker engine, the SLURM clusters) and
the fakes of the fast tier. Helpers that are not fixtures live in tests/helpers/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import BIN, REPO
from tests.helpers.services import machine_lock, multinode_env, start_service


@pytest.fixture(autouse=True)
def own_active_run_registry(tmp_path_factory, monkeypatch):
    """Each test's rompy processes report to a registry of their own (ROMPY_STATE_DIR).

    A rompy start cleans up after dead rompy processes of its registry; with one registry
    per test, tests running side by side never clean up what another test is inspecting.
    """
    monkeypatch.setenv("ROMPY_STATE_DIR", str(tmp_path_factory.mktemp("rompy-state")))


@pytest.fixture(scope="session")
def rompy_script() -> Path:
    """The console script pip installed beside this interpreter (not a pyenv shim)."""
    script = BIN / "rompy"
    assert script.is_file(), f"no rompy console script at {script}: install with pip install -e ."
    return script


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current directory, so no ./conf of the checkout is picked up."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROMPY_CONFIG_PATH", raising=False)
    return tmp_path


# -- figures for docs/reliability.md (see scripts/reliability_report.py) --------
FIGURES_DIR = REPO / "build" / "reliability"


class Figures:
    def __init__(self, test_id: str):
        self.test_id = test_id

    def record(self, description: str, **numbers) -> None:
        FIGURES_DIR.mkdir(parents=True, exist_ok=True)
        safe = self.test_id.replace("/", "_").replace(":", "_").replace("[", "_").replace("]", "")
        (FIGURES_DIR / f"{safe}.json").write_text(
            json.dumps({"test": self.test_id, "description": description, "figures": numbers}, indent=1))


@pytest.fixture
def figures(request):
    return Figures(request.node.nodeid)


# -- the integration tier's real services -----------------------------------------
@pytest.fixture(scope="session")
def docker_client():
    """A Docker SDK client on a running engine that has the local test images (started if none answers)."""
    from tests.helpers.docker import BUSYBOX, PYTHON

    with machine_lock():
        start_service("dockerd.sh", 1200)
        start_service("test-images.sh", 1200)
    import docker

    client = docker.from_env()
    for image in (BUSYBOX, PYTHON):
        client.api.inspect_image(image)  # fails the session loudly if the images are not there
    return client


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node SLURM cluster with accounting (started if none answers); fails, never skips."""
    if shutil.which("bash") is None:
        pytest.fail("bash is needed to start SLURM")
    with machine_lock():
        start_service("slurm.sh", 900)
    return True


@pytest.fixture(scope="session")
def slurm_multinode_env(slurm_cluster) -> dict[str, str]:
    """The emulated many-node cluster (scripts/services/slurm-multinode.sh, started if not all its nodes are up):
    the environment that points SLURM's commands at it. Fails, never skips."""
    with machine_lock():
        start_service("slurm-multinode.sh", 900)
    return multinode_env()


@pytest.fixture
def slurm_multinode(slurm_multinode_env, monkeypatch) -> dict[str, str]:
    """This test, its helpers (tests/helpers/slurm.py) and every process it starts talk to the many-node cluster."""
    for name, value in slurm_multinode_env.items():
        monkeypatch.setenv(name, value)
    return slurm_multinode_env


# -- the fast tier's fakes ----------------------------------------------------------
@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """SLURM's commands, faked (tests/helpers/fake_slurm.py), first on PATH for this test and its processes."""
    from tests.helpers.fake_slurm import FakeSlurm

    slurm = FakeSlurm(tmp_path / "fake-slurm")
    for name, value in slurm.install().items():
        monkeypatch.setenv(name, value)
    yield slurm
    slurm.stop_everything()


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    """A fake Docker engine (tests/helpers/fake_docker.py) as DOCKER_HOST, knowing the images `busybox` and
    `python`; a container runs as a local process."""
    import tempfile

    from tests.helpers.fake_docker import FakeEngine

    folder = Path(tempfile.mkdtemp(prefix="rompy-fd-", dir="/tmp"))  # a unix socket path has at most 107 bytes
    engine = FakeEngine(folder / "docker.sock", images={"busybox", "python"}).start()
    monkeypatch.setenv("DOCKER_HOST", engine.docker_host)
    yield engine
    engine.stop()
    shutil.rmtree(folder, ignore_errors=True)
