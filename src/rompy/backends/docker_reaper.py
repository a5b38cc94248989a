"""Remove containers left behind by a rompy that was killed (SIGKILL, power loss).

Called at every rompy start, so it must cost next to nothing: it speaks plain
HTTP/1.0 to the engine's unix socket (importing the Docker SDK alone takes
~0.25 s, http.client ~20 ms), does nothing when the socket file is absent, and
gives up after a short timeout. Only containers whose labels prove they were created by a rompy
on this host that is no longer alive are touched (see `docker_owner.is_orphan`);
a container of a live rompy, or one rompy did not create, is never touched.
Containers whose owner asked to keep them (`remove_container: false`) are
stopped if still running, but kept.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from urllib.parse import quote, urlencode

from rompy.backends.docker_owner import LABEL_HOST, LABEL_REGISTRY, LABEL_REMOVE, LABEL_RUN_ID, host_id, is_orphan, registry_id

log = logging.getLogger("rompy.backends.docker")

DEFAULT_SOCKET = "/var/run/docker.sock"
TIMEOUT_S = 2.0


def _http(path: str, method: str, url: str) -> tuple[int, bytes]:
    """One HTTP/1.0 request over the unix socket (the engine closes after the reply)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(path)
        sock.sendall(f"{method} {url} HTTP/1.0\r\nHost: docker\r\nContent-Length: 0\r\n\r\n".encode())
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def local_socket() -> str | None:
    """The unix socket DOCKER_HOST names (or the default one), if that file exists."""
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return None  # a remote engine: reaped by the docker backend's pre-flight instead
    path = host[len("unix://"):] if host else DEFAULT_SOCKET
    return path if os.path.exists(path) else None


def _socket_api(path: str):
    """list/kill/remove through the raw unix socket (no SDK import)."""

    def list_containers(labels: list[str]) -> list[dict]:
        query = urlencode({"all": "1", "filters": json.dumps({"label": labels})})
        status, body = _http(path, "GET", f"/containers/json?{query}")
        return json.loads(body) if status == 200 else []

    def kill(container_id: str) -> None:
        _http(path, "POST", f"/containers/{quote(container_id)}/kill")

    def remove(container_id: str) -> None:
        _http(path, "DELETE", f"/containers/{quote(container_id)}?force=1&v=1")

    return list_containers, kill, remove, lambda: None


def _sdk_api(client):
    def list_containers(labels: list[str]) -> list[dict]:
        return client.api.containers(all=True, filters={"label": labels})

    def ignore_missing(call):
        def wrapped(container_id: str) -> None:
            from docker.errors import APIError

            try:
                call(container_id)
            except APIError:  # already gone, or being removed by another rompy
                pass

        return wrapped

    remove = ignore_missing(lambda cid: client.api.remove_container(cid, force=True))
    return list_containers, ignore_missing(client.api.kill), remove, lambda: None


def reap_orphans(client=None) -> list[str]:
    """Remove orphaned rompy containers of this host; return the ids acted on.

    With a Docker SDK `client` the engine it points at is used; without one, the
    local unix socket, and nothing at all happens when there is none.
    """
    if client is not None:
        api = _sdk_api(client)
    else:
        path = local_socket()
        if path is None:
            return []
        api = _socket_api(path)
    list_containers, kill, remove, close = api
    reaped: list[str] = []
    try:
        for container in list_containers([f"{LABEL_HOST}={host_id()}", f"{LABEL_REGISTRY}={registry_id()}"]):
            labels = container.get("Labels") or {}
            if not is_orphan(labels):
                continue
            cid = container["Id"]
            if labels.get(LABEL_REMOVE) == "false":
                if container.get("State") == "running":
                    kill(cid)
                    reaped.append(cid)
                continue
            remove(cid)
            reaped.append(cid)
            log.info("removed container %s left by a rompy that is gone (run %s)",
                     cid[:12], labels.get(LABEL_RUN_ID, "?"))
    except Exception as exc:  # engine down, slow or refusing us: reaping is best effort
        log.debug("orphan reaping skipped: %s", exc)
    finally:
        close()
    return reaped
