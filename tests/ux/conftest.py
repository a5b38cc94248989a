"""Helpers for the user-experience tests: the real `rompy` console script, a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def rompy_script() -> Path:
    """The console script pip installed beside this interpreter (not a pyenv shim)."""
    script = BIN / "rompy"
    assert script.is_file(), f"no rompy console script at {script}: install with pip install -e ."
    return script


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without user config paths, with this interpreter's bin/ first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("ROMPY_CONFIG_PATH", "HYDRA_FULL_ERROR")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run(argv: list[str], cwd: Path, env: dict | None = None, timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout, **kwargs)
