"""Fixtures of the Docker backend tests: unique run ids, a non-root invoking user and its folder.

The engine itself (`docker_client`) is a fixture of tests/conftest.py, shared with tests/hardening.
"""

from __future__ import annotations

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

from tests.helpers.cli import REPO
from tests.helpers.docker import reachable_by_others
from tests.helpers.services import machine_lock

TEST_USER = "rompy-docker-test"


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
    with machine_lock():
        try:
            pw = pwd.getpwnam(TEST_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            TEST_USER], check=True, capture_output=True)
            pw = pwd.getpwnam(TEST_USER)
    socket_gid = os.stat(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")[len("unix://"):]).st_gid
    prefix = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", f"--groups={socket_gid}"]
    if not reachable_by_others(Path(sys.executable).resolve().parent) or not reachable_by_others(REPO):
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
