"""A fake Docker engine for the fast test tier: the engine's HTTP API on a unix socket.

rompy talks to it through the real Docker SDK (DOCKER_HOST=unix://<socket>), so the SDK
calls, the hijacked attach stream and the error paths are exercised as with a real
engine. A "container" is a process on this machine: its command runs with the
container's environment, in the host folder bound to its working directory; its output
comes back through attach as the engine's multiplexed frames. No images but the ones
the test declares, no limits enforced (the integration tier checks those on a real
engine), no network. Its event stream reports a container's `oom` and `die`, as the
engine does, unless the test asks for an engine without events (`events=False`).

    engine = FakeEngine(tmp_path / "docker.sock", images={"busybox:latest"})
    engine.start(); ...; engine.stop()
"""

from __future__ import annotations

import json
import os
import re
import signal
import socketserver
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

API_VERSION = "1.41"


@dataclass
class Container:
    id: str
    name: str
    config: dict[str, Any]
    created: float = field(default_factory=time.time)
    process: subprocess.Popen | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    started: threading.Event = field(default_factory=threading.Event)
    exited: threading.Event = field(default_factory=threading.Event)
    removed: bool = False

    @property
    def labels(self) -> dict[str, str]:
        return self.config.get("Labels") or {}

    @property
    def running(self) -> bool:
        return self.process is not None and not self.exited.is_set()

    def state_word(self) -> str:
        if self.running:
            return "running"
        return "exited" if self.process is not None else "created"


class FakeEngine:
    """Containers as local processes behind the Docker engine API. Records every request it served."""

    def __init__(self, socket_path: Path, images: set[str] = frozenset(), ncpu: int = 2,
                 mem_total: int = 8 << 30, fail_create: str | None = None, oom_exit: int | None = None,
                 events: bool = True):
        self.socket_path = Path(socket_path)
        self.images = {self._full(name) for name in images}
        self.ncpu, self.mem_total = ncpu, mem_total
        self.fail_create = fail_create  # an engine message to refuse every create with
        self.oom_exit = oom_exit        # a container exiting with this code reports OOMKilled
        self.events = events            # False: GET /events is refused, as by a proxy that lacks it
        # Set: a removal is already under way when rompy asks (another client's, or one a signal
        # cut short); the engine answers 409 and the container goes this many seconds later.
        self.removal_in_progress_s: float | None = None
        self.containers: dict[str, Container] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    @staticmethod
    def _full(name: str) -> str:
        return name if ":" in name.rsplit("/", 1)[-1] or "@" in name else f"{name}:latest"

    def start(self) -> "FakeEngine":
        engine = self

        class Handler(_Handler):
            pass

        Handler.engine = engine
        self._server = socketserver.ThreadingUnixStreamServer(str(self.socket_path), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-docker", daemon=True).start()
        return self

    def stop(self) -> None:
        for container in list(self.containers.values()):
            self._kill(container, signal.SIGKILL)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.socket_path.unlink(missing_ok=True)

    def live(self) -> list[Container]:
        """Containers not removed (what `docker ps -a` would list)."""
        return [c for c in self.containers.values() if not c.removed]

    # -- containers -----------------------------------------------------------------------
    def find(self, ref: str) -> Container | None:
        ref = unquote(ref)
        for container in self.containers.values():
            if not container.removed and (container.id == ref or container.id.startswith(ref) or container.name == ref):
                return container
        return None

    def host_path(self, container: Container, path: str) -> str | None:
        """The host folder a container path is bound to (longest bind wins)."""
        best = None
        for bind in (container.config.get("HostConfig") or {}).get("Binds") or []:
            host, target = bind.split(":")[:2]
            if path == target or path.startswith(target.rstrip("/") + "/"):
                if best is None or len(target) > len(best[1]):
                    best = (host, target)
        if best is None:
            return None
        return best[0] + path[len(best[1]):]

    def run(self, container: Container) -> None:
        config = container.config
        env = dict(item.split("=", 1) for item in config.get("Env") or [])
        env.setdefault("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
        cwd = self.host_path(container, config.get("WorkingDir") or "/") or os.getcwd()
        container.process = subprocess.Popen(config["Cmd"], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        container.started.set()

        def wait() -> None:
            code = container.process.wait()
            container.exit_code = code if code >= 0 else 128 - code
            container.oom_killed = self.oom_exit is not None and container.exit_code == self.oom_exit
            container.exited.set()

        threading.Thread(target=wait, daemon=True).start()

    def _kill(self, container: Container, signum: int) -> None:
        if container.running:
            try:
                os.killpg(container.process.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass

    def stop_container(self, container: Container, grace: float) -> None:
        if not container.running:  # as the engine: a container not running is stopped already (304)
            return
        self._kill(container, signal.SIGTERM)
        if not container.exited.wait(grace):
            self._kill(container, signal.SIGKILL)
            container.exited.wait(10)

    def inspect(self, container: Container) -> dict[str, Any]:
        host = container.config.get("HostConfig") or {}
        return {
            "Id": container.id, "Name": "/" + container.name,
            "State": {"Status": container.state_word(), "Running": container.running,
                      "ExitCode": container.exit_code or 0, "OOMKilled": container.oom_killed},
            "HostConfig": {"NanoCpus": host.get("NanoCpus") or 0, "Memory": host.get("Memory") or 0,
                           "MemorySwap": host.get("MemorySwap") or 0, "ShmSize": host.get("ShmSize") or 67108864,
                           "NetworkMode": host.get("NetworkMode") or "default", "Binds": host.get("Binds")},
            "Config": {"User": container.config.get("User", ""), "WorkingDir": container.config.get("WorkingDir", ""),
                       "Labels": container.labels, "Tty": False, "Image": container.config.get("Image")},
        }


class _Handler(BaseHTTPRequestHandler):
    engine: FakeEngine
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    # -- plumbing ---------------------------------------------------------------------
    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        path = re.sub(r"^/v[\d.]+", "", url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        self.engine.requests.append((method, path))
        for pattern, handler in ROUTES.get(method, []):
            match = re.fullmatch(pattern, path)
            if match:
                return handler(self, *match.groups(), query=query, body=body)
        self._json(404, {"message": f"page not found: {method} {path}"})

    def do_GET(self):  # noqa: N802
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")

    def do_DELETE(self):  # noqa: N802
        self._route("DELETE")

    def do_HEAD(self):  # noqa: N802
        self._route("HEAD")

    def _json(self, status: int, data: Any) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _empty(self, status: int = 204) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _container(self, ref: str) -> Container | None:
        container = self.engine.find(ref)
        if container is None:
            self._json(404, {"message": f"No such container: {unquote(ref)}"})
        return container

    # -- the API ----------------------------------------------------------------------
    def ping(self, query, body):
        payload = b"OK"
        self.send_response(200)
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def version(self, query, body):
        self._json(200, {"ApiVersion": API_VERSION, "Version": "fake", "MinAPIVersion": "1.12"})

    def info(self, query, body):
        self._json(200, {"NCPU": self.engine.ncpu, "MemTotal": self.engine.mem_total, "Driver": "fake"})

    def image(self, name, query, body):
        name = unquote(name)
        if FakeEngine._full(name) in self.engine.images:
            self._json(200, {"Id": "sha256:" + "f" * 64, "RepoTags": [FakeEngine._full(name)], "RepoDigests": []})
        else:
            self._json(404, {"message": f"No such image: {name}"})

    def pull(self, query, body):
        self._json(404, {"message": f"pull access denied for {query.get('fromImage')}: no registry in the fast tier"})

    def network(self, name, query, body):
        self._json(404, {"message": f"network {unquote(name)} not found"})

    def create(self, query, body):
        engine = self.engine
        if engine.fail_create:
            return self._json(500, {"message": engine.fail_create})
        if FakeEngine._full(body["Image"]) not in engine.images:
            return self._json(404, {"message": f"No such image: {body['Image']}"})
        container = Container(id=uuid.uuid4().hex * 2, name=query.get("name") or uuid.uuid4().hex[:12], config=body)
        with engine.lock:
            engine.containers[container.id] = container
        self._json(201, {"Id": container.id, "Warnings": []})

    def attach(self, ref, query, body):
        container = self._container(ref)
        if container is None:
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.raw-stream")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while not container.started.wait(0.05):
            if container.removed:
                return
        writer_lock = threading.Lock()

        def copy(pipe, stream_type: int) -> None:
            for chunk in iter(lambda: os.read(pipe.fileno(), 65536), b""):
                with writer_lock:
                    try:
                        self.wfile.write(struct.pack(">BxxxL", stream_type, len(chunk)) + chunk)
                        self.wfile.flush()
                    except OSError:
                        return

        threads = [threading.Thread(target=copy, args=(container.process.stdout, 1), daemon=True),
                   threading.Thread(target=copy, args=(container.process.stderr, 2), daemon=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def events(self, query, body):
        """The `oom` and `die` events of the one container the filters name, then the stream ends."""
        if not self.engine.events:
            return self._json(404, {"message": "page not found: GET /events"})
        filters = json.loads(query.get("filters") or "{}")
        wanted = set(filters.get("event") or ("oom", "die"))
        container = self.engine.find((filters.get("container") or [""])[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while container is not None and not container.exited.wait(0.05):
            if container.removed:
                break
        happened = []
        if container is not None and container.exited.is_set():
            if container.oom_killed:
                happened.append({"Action": "oom", "Actor": {"ID": container.id, "Attributes": {}}})
            happened.append({"Action": "die", "Actor": {"ID": container.id,
                                                         "Attributes": {"exitCode": str(container.exit_code)}}})
        try:
            for event in happened:
                if event["Action"] in wanted:
                    data = json.dumps(event).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client closed the stream
            pass

    def start(self, ref, query, body):
        container = self._container(ref)
        if container is None:
            return
        try:
            self.engine.run(container)
        except OSError as exc:
            return self._json(400, {"message": f"failed to create task: exec: {exc}"})
        self._empty()

    def wait(self, ref, query, body):
        container = self._container(ref)
        if container is None:
            return
        while not container.exited.wait(0.05):
            if container.removed or container.process is None and query.get("condition") != "next-exit":
                break
        self._json(200, {"StatusCode": container.exit_code or 0, "Error": None})

    def inspect_container(self, ref, query, body):
        container = self._container(ref)
        if container is not None:
            self._json(200, self.engine.inspect(container))

    def stop(self, ref, query, body):
        container = self._container(ref)
        if container is not None:
            self.engine.stop_container(container, float(query.get("t", 10)))
            self._empty()

    def kill(self, ref, query, body):
        container = self._container(ref)
        if container is not None:
            self.engine._kill(container, signal.SIGKILL)
            self._empty()

    def remove(self, ref, query, body):
        container = self._container(ref)
        if container is None:
            return
        delay = self.engine.removal_in_progress_s
        if delay is not None:
            def finish() -> None:
                self.engine._kill(container, signal.SIGKILL)
                container.removed = True

            self.engine.removal_in_progress_s = None
            threading.Timer(delay, finish).start()
            return self._json(409, {"message": f"removal of container {container.id} is already in progress"})
        if container.running:
            if query.get("force") not in ("1", "true", "True"):
                return self._json(409, {"message": "You cannot remove a running container"})
            self.engine.stop_container(container, 0)
        container.removed = True
        self._empty()

    def list_containers(self, query, body):
        filters = json.loads(query.get("filters") or "{}")
        wanted = filters.get("label") or []
        if isinstance(wanted, dict):
            wanted = [k for k, v in wanted.items() if v]
        rows = []
        for container in self.engine.live():
            labels = container.labels
            if all((labels.get(f.split("=", 1)[0]) == f.split("=", 1)[1]) if "=" in f else f in labels
                   for f in wanted):
                if container.running or query.get("all") in ("1", "true", "True"):
                    rows.append({"Id": container.id, "Names": ["/" + container.name], "Labels": labels,
                                 "State": container.state_word(), "Image": container.config.get("Image")})
        self._json(200, rows)


ROUTES = {
    "GET": [(r"/_ping", _Handler.ping), (r"/version", _Handler.version), (r"/info", _Handler.info),
            (r"/events", _Handler.events),
            (r"/images/(.+)/json", _Handler.image), (r"/networks/([^/]+)", _Handler.network),
            (r"/containers/json", _Handler.list_containers), (r"/containers/([^/]+)/json", _Handler.inspect_container)],
    "HEAD": [(r"/_ping", _Handler.ping)],
    "POST": [(r"/containers/create", _Handler.create), (r"/containers/([^/]+)/attach", _Handler.attach),
             (r"/containers/([^/]+)/start", _Handler.start), (r"/containers/([^/]+)/wait", _Handler.wait),
             (r"/containers/([^/]+)/stop", _Handler.stop), (r"/containers/([^/]+)/kill", _Handler.kill),
             (r"/images/create", _Handler.pull)],
    "DELETE": [(r"/containers/([^/]+)", _Handler.remove)],
}
