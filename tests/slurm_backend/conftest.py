"""Helpers for the SLURM backend tests: the CLI as a process, the model's processes; the cluster fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.slurm_helpers import slurm_cluster  # noqa: F401 - re-exported fixture


class Run:
    """One `python -m rompy backend=slurm ...` run in its own folder, with a unique run id."""

    def __init__(self, root: Path):
        self.root = root
        self.output = root / "output"
        self.run_id = f"slurm-{uuid.uuid4().hex[:10]}"
        self.run_dir = self.output / self.run_id
        self.job_name = f"rompy-{self.run_id}"

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "rompy", "backend=slurm", f"run_id={self.run_id}",
                f"output_dir={self.output}", *extra]

    def run(self, *extra: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*extra), cwd=self.root, env={**os.environ, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

    def popen(self, *extra: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*extra), cwd=self.root, env={**os.environ, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def record(self) -> dict:
        return json.loads((self.run_dir / "rompy-result.json").read_text())


@pytest.fixture
def slurm_run(tmp_path) -> Run:
    """A `Run` in this test's own folder."""
    return Run(tmp_path)


def processes_matching(pattern: str) -> str:
    """`pgrep -af PATTERN`: the processes whose command line matches, one a line ("" if none)."""
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout.strip()


def marker() -> str:
    """A sleep length nothing else on the machine uses, to find the model's processes."""
    return f"7{uuid.uuid4().int % 100000:05d}"
