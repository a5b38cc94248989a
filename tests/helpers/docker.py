"""The Docker backend's tests: the local test images, and finding and removing their containers."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path

BUSYBOX = "rompy-test-busybox:latest"
PYTHON = "rompy-test-python:latest"
MPICH = "rompy-test-mpich:latest"


def containers_of(client, run_id: str) -> list[dict]:
    return client.api.containers(all=True, filters={"label": f"rompy.run_id={run_id}"})


def remove_containers(client, containers) -> None:
    """Remove containers (dicts from `containers_of`, or ids) whatever state they are in; gone is fine."""
    from docker.errors import APIError

    for container in containers:
        try:
            client.api.remove_container(container["Id"] if isinstance(container, dict) else container, force=True)
        except APIError:  # already gone, or being removed
            pass


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


def reachable_by_others(path: Path) -> bool:
    for parent in [path, *path.parents]:
        if parent.is_dir() and not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return True
