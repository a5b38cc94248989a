"""Fixtures for the Docker backend tests: a real engine, local images, a non-root user.

The session fixture runs scripts/services/dockerd.sh (starts `dockerd` when none
answers, reuses one that does) and scripts/services/test-images.sh (builds the
local test images; nothing is pulled: no registry is reachable). The tests are
skipped only when those scripts are absent; an engine that does not come up is
a failure, never a skip. Under `pytest -n 4` every worker runs the fixture; a
file lock keeps the scripts from racing each other.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = [REPO / "scripts" / "services" / "dockerd.sh", REPO / "scripts" / "services" / "test-images.sh"]
BUSYBOX = "rompy-test-busybox:latest"
PYTHON = "rompy-test-python:latest"
LOCK_FILE = "/tmp/rompy-docker-tests.lock"
TEST_USER = "rompy-docker-test"


class _Lock:
    def __enter__(self):
        self.fh = open(LOCK_FILE, "a")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


@pytest.fixture(scope="session")
def docker_client():
    """A Docker SDK client on a running engine that has the local test images."""
    missing = [str(p) for p in SCRIPTS if not p.is_file()]
    if missing:
        pytest.skip(f"service scripts absent: {', '.join(missing)}")
    with _Lock():
        for script in SCRIPTS:
            proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1200)
            if proc.returncode != 0:
                pytest.fail(f"{script.name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    import docker

    client = docker.from_env()
    for image in (BUSYBOX, PYTHON):
        client.api.inspect_image(image)  # fails the session loudly if the images are not there
    return client


@pytest.fixture
def run_id(request):
    """Unique per test (tests run in parallel and share the engine)."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-")
    return f"t-{name}-{uuid.uuid4().hex[:8]}"


def containers_of(client, run_id: str) -> list[dict]:
    return client.api.containers(all=True, filters={"label": f"rompy.run_id={run_id}"})


def rompy_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "rompy", *args]


def run_rompy(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300,
              prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    """`python -m rompy ARGS` as a real process, output captured."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("ROMPY_CONFIG_PATH", None)
    return subprocess.run([*(prefix or []), *rompy_argv(*args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def read_record(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "rompy-result.json").read_text())


def model_run(run_id: str, output_dir: Path):
    from rompy.model import ModelRun

    return ModelRun(run_id=run_id, output_dir=output_dir)


def run_api(run_id: str, output_dir: Path, **backend):
    """Run through the Python API in-process; returns (ok, record, stdout.log, stderr.log)."""
    from rompy.backends import DockerConfig

    backend.setdefault("image", BUSYBOX)
    model = model_run(run_id, output_dir)
    ok = model.run(backend=DockerConfig(**backend))
    logs = model.run_dir / "logs"
    return ok, model.record, (logs / "stdout.log").read_text(), (logs / "stderr.log").read_text()


class LineReader:
    """Collect a process's output lines in a thread; wait for one that matches."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in iter(stream.readline, ""):
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, needle: str, timeout: float) -> float | None:
        """Seconds until a line containing `needle` appeared, or None."""
        t0 = time.monotonic()
        with self._cond:
            while not any(needle in line for line in self.lines):
                remaining = timeout - (time.monotonic() - t0)
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
        return time.monotonic() - t0

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)


def wait_running(client, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [c for c in containers_of(client, run_id) if c["State"] == "running"]
        if running:
            return running[0]
        time.sleep(0.1)
    raise AssertionError(f"no running container for run {run_id} after {timeout} s")


# -- a non-root invoking user --------------------------------------------------------
def _reachable_by_others(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if parent.is_dir() and not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return True


@pytest.fixture(scope="session")
def test_user(docker_client):
    """(uid, gid, prefix): run a command as a non-root user allowed on the Docker socket.

    The prefix is `setpriv` with the user's uid/gid and the socket's group. When the
    Python running the tests sits under a folder others cannot enter (pyenv in
    /root here), it also grants CAP_DAC_READ_SEARCH (read-only file access) so that
    user can load Python and rompy; the process is still that uid, which is all the
    tests observe (os.getuid() in rompy, file owners, `id` in the container).
    """
    with _Lock():
        try:
            pw = pwd.getpwnam(TEST_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            TEST_USER], check=True, capture_output=True)
            pw = pwd.getpwnam(TEST_USER)
    socket_gid = os.stat(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")[len("unix://"):]).st_gid
    prefix = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", f"--groups={socket_gid}"]
    if not _reachable_by_others(Path(sys.executable).resolve().parent) or not _reachable_by_others(REPO):
        prefix += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return pw.pw_uid, pw.pw_gid, prefix


@pytest.fixture
def user_dir(test_user):
    """A working folder owned by the test user (tmp_path is private to root)."""
    uid, gid, _ = test_user
    path = Path(tempfile.mkdtemp(prefix="rompy-docker-user-", dir="/tmp"))
    os.chown(path, uid, gid)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
