"""The Docker engine: where it is (the one place DOCKER_HOST is read), connecting, and what it has.

`docker.from_env()` fails with "Error while fetching server API version" and a nested
urllib3 repr; users need one line saying where rompy looked (the socket or DOCKER_HOST)
and what to do about it. The Docker SDK is imported here, when a connection is made.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from rompy.errors import PreflightError

DEFAULT_SOCKET = "/var/run/docker.sock"
BUILTIN_NETWORKS = {"none", "host", "bridge", "default"}
START_HINT = ("start an engine (sudo systemctl start docker, or sudo dockerd &), "
              "or set DOCKER_HOST to one that runs")
_LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def engine_address() -> str:
    """DOCKER_HOST, or the default unix socket."""
    return os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"


def engine_socket() -> str | None:
    """The unix socket the engine listens on, or None for an engine reached over the network."""
    address = engine_address()
    return address[len("unix://"):] if address.startswith("unix://") else None


def engine_is_on_this_machine() -> bool:
    """True unless DOCKER_HOST names another host: containers then use this machine's cores."""
    address = engine_address()
    if address.startswith(("unix://", "npipe://", "fd://")):
        return True
    return (urlparse(address).hostname or "") in _LOCAL_HOSTS


def _where() -> str:
    host = os.environ.get("DOCKER_HOST")
    if host:
        return f"DOCKER_HOST={host}"
    return f"the socket {DEFAULT_SOCKET} (DOCKER_HOST is not set)"


def _unreachable(reason: str, hint: str = START_HINT) -> PreflightError:
    return PreflightError(f"cannot reach a Docker engine at {_where()}: {reason}; {hint}")


def connect():
    """A Docker SDK client for DOCKER_HOST (or the default socket); PreflightError if none answers."""
    path = engine_socket()
    if path is not None and not os.path.exists(path):
        raise _unreachable("no such socket")
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise PreflightError(f"the Docker SDK is not installed ({exc}): pip install 'docker>=7'") from None
    try:
        return docker.from_env()
    except DockerException as exc:
        text = str(exc)
        if "Permission denied" in text or "PermissionError" in text:
            raise _unreachable(
                "permission denied",
                "add your user to the group owning the socket (e.g. sudo usermod -aG docker $USER, "
                "then log in again), or use a rootless engine via DOCKER_HOST",
            ) from None
        for needle, reason in (("Connection refused", "connection refused"),
                               ("No such file", "no such socket"),
                               ("timed out", "timed out"),
                               ("Name or service not known", "unknown host")):
            if needle in text:
                raise _unreachable(reason) from None
        raise _unreachable(text.splitlines()[0][:300]) from None


def check_resources(client, config) -> dict:
    """PreflightError when cpu or memory exceed the engine's; returns the figures it compared."""
    if config.cpu <= 1 and config.memory is None:
        return {}  # every engine has one CPU: spare the `info` call
    info = client.info()
    ncpu, mem_total = info.get("NCPU"), info.get("MemTotal")
    if ncpu and config.cpu > ncpu:
        raise PreflightError(
            f"backend.cpu={config.cpu:g} but the Docker engine has {ncpu} CPU"
            f"{'s' if ncpu != 1 else ''}; lower backend.cpu to at most {ncpu}"
        )
    memory = config.memory_bytes
    if memory is not None and mem_total and memory > mem_total:
        raise PreflightError(
            f"backend.memory={config.memory} ({memory} bytes) is more than the Docker engine's "
            f"{mem_total} bytes ({mem_total / 2**30:.1f} GiB); lower backend.memory"
        )
    return {"engine_cpus": ncpu, "engine_memory_bytes": mem_total}


def check_network(client, network: str | None) -> None:
    """A user-defined network must exist before anything is created."""
    if network is None or network in BUILTIN_NETWORKS or network.startswith("container:"):
        return
    from docker.errors import NotFound

    try:
        client.api.inspect_network(network)
    except NotFound:
        raise PreflightError(
            f"backend.network={network!r}: no such network on the Docker engine; create it "
            f"(docker network create {network}) or use none, host or bridge"
        ) from None
