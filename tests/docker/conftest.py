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
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from docker_helpers import BUSYBOX, PYTHON, REPO, _reachable_by_others

SCRIPTS = [REPO / "scripts" / "services" / "dockerd.sh", REPO / "scripts" / "services" / "test-images.sh"]
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


# -- a non-root invoking user --------------------------------------------------------


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
