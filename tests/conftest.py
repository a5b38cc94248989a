"""Shared test helpers: run the real CLI in a subprocess or in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def rompy_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rompy", *args]


def run_rompy(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m rompy ARGS` as a real process and capture its output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        rompy_cmd(*args), cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def read_record(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "rompy-result.json").read_text())


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
