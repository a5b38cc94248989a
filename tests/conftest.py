"""Shared test helpers: run the real CLI in a subprocess or in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def rompy_cmd(*args: str) -> list[str]:
    """The argv of `python -m rompy ARGS` with this interpreter."""
    return [sys.executable, "-m", "rompy", *args]


def run_rompy(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300,
              **popen) -> subprocess.CompletedProcess:
    """Run `python -m rompy ARGS` as a real process and capture its output (extra keywords go to subprocess)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        rompy_cmd(*args), cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, **popen
    )


def read_record(run_dir: Path) -> dict:
    """The run record (rompy-result.json) of `run_dir`."""
    return json.loads((Path(run_dir) / "rompy-result.json").read_text())


@contextmanager
def kill_on_exit(proc: subprocess.Popen):
    """Yield `proc`; kill it on the way out if it still runs (say, after a failed assertion)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()


# -- local model processes, found by the marker they are renamed to (`exec -a MARKER`) ----
def processes_with_marker(marker: str) -> list[int]:
    """Pids of the live (not zombie) processes whose command line contains `marker`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
            with open(f"/proc/{pid}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmd and state != b"Z":
            pids.append(int(pid))
    return pids


def model_with_daemon(marker: str) -> str:
    """A bash model that leaves a setsid daemon `MARKER-daemon`, prints `started` and sleeps as `MARKER`."""
    return (f"#!/bin/bash\n(setsid bash -c 'exec -a {marker}-daemon sleep 300' &)\n"
            f"echo started\nexec -a {marker} sleep 300\n")


def start_local_run(workdir: Path, run_id: str, script: str, script_name: str = "model.sh",
                    env: dict | None = None, stderr=subprocess.PIPE) -> subprocess.Popen:
    """Start rompy in the background on the bash model `script` (at WORKDIR/SCRIPT_NAME) and wait for `started`."""
    path = workdir / script_name
    path.write_text(script)
    path.chmod(0o755)
    proc = subprocess.Popen(rompy_cmd(f"run_id={run_id}", f"backend.command='{path}'"), cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert proc.stdout.readline().strip() == "started"
    return proc


@pytest.fixture(autouse=True)
def own_active_run_registry(tmp_path_factory, monkeypatch):
    """Each test's rompy processes report to a registry of their own (ROMPY_STATE_DIR).

    A rompy start cleans up after dead rompy processes of its registry; with one registry
    per test, tests running side by side never clean up what another test is inspecting.
    """
    monkeypatch.setenv("ROMPY_STATE_DIR", str(tmp_path_factory.mktemp("rompy-state")))


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
