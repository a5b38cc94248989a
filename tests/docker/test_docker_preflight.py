"""Pre-flight: engine, resources, network and image are checked before anything is created.

Failures exit 2 with one line (a failed pull exits 1) and leave no run directory,
through the CLI and through the Python API alike.
Pulls are real: a tiny registry on 127.0.0.1 (tests/docker/registry.py) serves an
image, since no public registry is reachable here.
"""

from __future__ import annotations

import os
import socket

import pytest

from tests.helpers.cli import read_record, run_rompy
from tests.helpers.docker import BUSYBOX, containers_of
from tests.helpers.fake_registry import FakeRegistry

pytestmark = pytest.mark.docker


def _no_traceback(proc):
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


def _cli(tmp_path, run_id, *args, env=None):
    """Run the CLI; a pre-flight failure must not have created the output folder."""
    return run_rompy("backend=docker", f"run_id={run_id}", f"output_dir={tmp_path / 'out'}", *args,
                     cwd=tmp_path, env=env)


@pytest.mark.parametrize("docker_host, reason", [
    ("unix:///nonexistent/docker.sock", "no such socket"),
    ("tcp://127.0.0.1:1", "connection refused"),
])
def test_no_engine_is_one_clear_error(tmp_path, run_id, docker_host, reason):
    proc = _cli(tmp_path, run_id, f"backend.image={BUSYBOX}", env={"DOCKER_HOST": docker_host})
    assert proc.returncode == 2, proc.stderr
    _no_traceback(proc)
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("rompy: error:")]
    assert f"DOCKER_HOST={docker_host}" in line and reason in line and "start an engine" in line
    assert not (tmp_path / "out").exists()  # nothing created



def test_socket_permission_denied(docker_client, tmp_path, run_id, test_user, user_dir):
    """A non-root user on a root-only socket (a real listening socket, mode 600)."""
    _, _, prefix = test_user
    path = tmp_path / "root-only.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    os.chmod(path, 0o600)
    os.chmod(tmp_path, 0o755)
    try:
        proc = run_rompy("backend=docker", f"backend.image={BUSYBOX}", f"run_id={run_id}",
                         f"output_dir={user_dir / 'out'}", cwd=user_dir, prefix=prefix,
                         env={"DOCKER_HOST": f"unix://{path}", "HOME": str(user_dir), "ROMPY_STATE_DIR": ""})
    finally:
        server.close()
    assert proc.returncode == 2, proc.stderr
    _no_traceback(proc)
    assert "permission denied" in proc.stderr and "docker" in proc.stderr and "group" in proc.stderr
    assert not (user_dir / "out").exists()



def test_more_cpus_than_the_engine_has(docker_client, tmp_path, run_id):
    ncpu = docker_client.info()["NCPU"]
    proc = _cli(tmp_path, run_id, f"backend.image={BUSYBOX}", f"backend.cpu={ncpu + 1}")
    assert proc.returncode == 2
    _no_traceback(proc)
    assert f"backend.cpu={ncpu + 1}" in proc.stderr and f"has {ncpu} CPU" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing created



def test_more_memory_than_the_engine_has(docker_client, tmp_path, run_id):
    proc = _cli(tmp_path, run_id, f"backend.image={BUSYBOX}", "backend.memory=64p")
    assert proc.returncode == 2
    _no_traceback(proc)
    assert "backend.memory=64p" in proc.stderr and "lower backend.memory" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing created



def test_unknown_network_is_a_preflight_error(docker_client, tmp_path, run_id):
    proc = _cli(tmp_path, run_id, f"backend.image={BUSYBOX}", "backend.network=rompy-no-such-net")
    assert proc.returncode == 2
    assert "rompy-no-such-net" in proc.stderr and "docker network create" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing created



def test_pull_policy_never_and_missing_image(docker_client, tmp_path, run_id):
    proc = _cli(tmp_path, run_id, "backend.image=rompy-test-absent:never", "backend.pull_policy=never")
    assert proc.returncode == 2
    _no_traceback(proc)
    assert "rompy-test-absent:never" in proc.stderr and "pull_policy is 'never'" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing created



def test_failed_pull_exits_1_with_the_engine_error(docker_client, tmp_path, run_id):
    proc = _cli(tmp_path, run_id, "backend.image=localhost:1/rompy-absent:latest")
    assert proc.returncode == 1
    _no_traceback(proc)
    assert "pulling image localhost:1/rompy-absent:latest failed" in proc.stderr
    assert "connection refused" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing created



@pytest.fixture
def registry(docker_client, run_id):
    reg = FakeRegistry(docker_client, BUSYBOX, "rompy-pull-test", run_id.lower()[-20:])
    yield reg
    reg.close()
    try:
        docker_client.api.remove_image(reg.reference, force=True)
    except Exception:
        pass


def test_missing_image_is_pulled_then_run(docker_client, tmp_path, run_id, registry):
    proc = _cli(tmp_path, run_id, f"backend.image={registry.reference}",
                "backend.command='cat /rompy-pull-test.txt'")
    assert proc.returncode == 0, proc.stderr
    assert "Pull complete" in proc.stderr and "rompy pull test" in proc.stdout
    details = read_record(tmp_path / "out" / run_id)["backend"]["details"]
    assert details["image_id"] == registry.image_id
    assert details["image_digests"] and details["image_digests"][0].startswith(
        f"localhost:{registry.port}/rompy-pull-test@sha256:")
    assert not containers_of(docker_client, run_id)


def test_pull_policy_always_pulls_a_present_image_missing_does_not(docker_client, tmp_path, run_id, registry):
    from rompy.backends import DockerConfig

    DockerConfig(image=registry.reference).preflight()
    assert registry.manifest_requests >= 1
    seen = registry.manifest_requests
    DockerConfig(image=registry.reference, pull_policy="missing").preflight()
    assert registry.manifest_requests == seen
    DockerConfig(image=registry.reference, pull_policy="always").preflight()
    assert registry.manifest_requests > seen


def test_error_chunk_in_the_pull_stream_is_surfaced(docker_client, tmp_path, run_id):
    reg = FakeRegistry(docker_client, BUSYBOX, "rompy-pull-test", "corrupt", corrupt=True)
    try:
        proc = _cli(tmp_path, run_id, f"backend.image={reg.reference}")
    finally:
        reg.close()
    assert proc.returncode == 1
    _no_traceback(proc)
    assert "verification failed" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing created



def _api_preflight_fails(tmp_path, run_id, error, **backend):
    from rompy.backends import DockerConfig
    from rompy.model import ModelRun

    model = ModelRun(run_id=run_id, output_dir=tmp_path / "out")
    with pytest.raises(error):
        model.run(backend=DockerConfig(**backend))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("backend, error", [
    ({"image": "localhost:1/rompy-absent:latest"}, "RunFailed"),
    ({"image": "rompy-test-absent:never", "pull_policy": "never"}, "PreflightError"),
    ({"image": BUSYBOX, "cpu": 4096}, "PreflightError"),
    ({"image": BUSYBOX, "network": "rompy-no-such-net"}, "PreflightError"),
    ({"image": BUSYBOX, "secret_env": ["ROMPY_TEST_UNSET_SECRET"]}, "PreflightError"),
])
def test_preflight_failures_create_nothing_through_the_api(docker_client, tmp_path, run_id, backend, error):
    import rompy.errors

    _api_preflight_fails(tmp_path, run_id, getattr(rompy.errors, error), **backend)


def test_no_engine_creates_nothing_through_the_api(tmp_path, run_id, monkeypatch):
    from rompy.errors import PreflightError

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    _api_preflight_fails(tmp_path, run_id, PreflightError, image=BUSYBOX)


def test_cli_preflight_failure_creates_no_run_directory(docker_client, tmp_path, run_id):
    proc = _cli(tmp_path, run_id, "backend.image=rompy-test-absent:never", "backend.pull_policy=never")
    assert proc.returncode == 2
    assert not (tmp_path / "out" / run_id).exists()
