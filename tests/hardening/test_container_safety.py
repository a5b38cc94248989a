"""Container safety defaults: never privileged; host takeover mounts refused unless allowed."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from rompy.backends import DockerConfig
from tests.helpers.cli import run_rompy
from tests.helpers.docker import BUSYBOX, containers_of, remove_containers


@pytest.mark.parametrize("volume", ["/:/host", "/var/run/docker.sock:/var/run/docker.sock",
                                    "/run/docker.sock:/sock:ro"])
def test_host_takeover_mounts_are_refused(volume, figures):
    with pytest.raises(ValidationError, match="allow_unsafe_mounts"):
        DockerConfig(image="busybox", volumes=[volume])
    assert DockerConfig(image="busybox", volumes=[volume], allow_unsafe_mounts=True).volumes == [volume]


def test_unsafe_mount_from_the_command_line_is_a_clear_error(workdir):
    proc = run_rompy("backend=docker", "backend.image=busybox", "backend.volumes=[/:/host]", "dry_run=true",
                     cwd=workdir)
    assert proc.returncode == 2
    assert "backend" in proc.stderr and "allow_unsafe_mounts" in proc.stderr


@pytest.mark.docker
def test_containers_are_not_privileged_and_ro_is_honoured(workdir, docker_client, tmp_path_factory, figures):
    shared = tmp_path_factory.mktemp("shared")
    (shared / "data.txt").write_text("read me")
    run_id = f"safe-{uuid.uuid4().hex[:8]}"
    proc = run_rompy(f"run_id={run_id}", "backend=docker", f"backend.image={BUSYBOX}", "backend.pull_policy=never",
                     "backend.remove_container=false", f"backend.volumes=[{shared}:/shared:ro]",
                     "backend.command='cat /shared/data.txt && ! touch /shared/new 2>/dev/null'", cwd=workdir)
    try:
        assert proc.returncode == 0, proc.stderr
        assert "read me" in proc.stdout
        (container,) = containers_of(docker_client, run_id)
        host_config = docker_client.api.inspect_container(container["Id"])["HostConfig"]
        assert host_config["Privileged"] is False
        assert not host_config.get("CapAdd")
        assert not (shared / "new").exists()
    finally:
        remove_containers(docker_client, containers_of(docker_client, run_id))
    figures.record("container safety: privileged flag, capabilities, read-only volume", privileged=0,
                   capabilities_added=0, writes_through_ro=0)
