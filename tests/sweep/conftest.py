"""Helpers for sweep tests: run the real CLI as a process, read results, bring up SLURM."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLURM_SCRIPT = REPO / "scripts" / "services" / "slurm.sh"


class Sweep:
    """One sweep directory and the output folder its members write to."""

    def __init__(self, root: Path, name: str = "sweep"):
        self.root = root
        self.dir = root / name
        self.output = root / "output"

    def args(self, *extra: str) -> list[str]:
        return ["-m", f"hydra.sweep.dir={self.dir}", f"output_dir={self.output}", *extra]

    def run(self, *extra: str, env: dict | None = None, timeout: float = 600, **kwargs):
        return run_rompy(*self.args(*extra), cwd=self.root, env=env, timeout=timeout, **kwargs)

    def popen(self, *extra: str, env: dict | None = None):
        return subprocess.Popen(
            [sys.executable, "-m", "rompy", *self.args(*extra)], cwd=self.root,
            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def lines(self) -> list[dict]:
        path = self.dir / "results.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def summary(self) -> dict:
        return json.loads((self.dir / "summary.json").read_text())

    def by_member(self) -> dict[int, dict]:
        return {m["member"]: m for m in self.summary()["members"]}


def run_rompy(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600):
    return subprocess.run(
        [sys.executable, "-m", "rompy", *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture
def sweep(tmp_path) -> Sweep:
    return Sweep(tmp_path)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node SLURM cluster with accounting; fails (not skips) if it cannot start."""
    if not SLURM_SCRIPT.exists():
        pytest.skip("scripts/services/slurm.sh is absent")
    if shutil.which("bash") is None:
        pytest.fail("bash is needed to start SLURM")
    proc = subprocess.run(["bash", str(SLURM_SCRIPT)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"scripts/services/slurm.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return True

