"""Running rompy as users do: `python -m rompy` or the console script, as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the console script pip installed beside this interpreter


def rompy_cmd(*args: str) -> list[str]:
    """The argv of `python -m rompy ARGS` with this interpreter."""
    return [sys.executable, "-m", "rompy", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without user config paths, with this interpreter's bin/ first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("ROMPY_CONFIG_PATH", "HYDRA_FULL_ERROR")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def run_rompy(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300, prefix: list[str] | None = None,
              **popen) -> subprocess.CompletedProcess:
    """Run `python -m rompy ARGS` (after `prefix`, e.g. setpriv) in `cwd` and capture its output.

    The environment is this one without ROMPY_CONFIG_PATH, plus `env`; extra keywords go to subprocess.
    """
    full_env = {k: v for k, v in os.environ.items() if k != "ROMPY_CONFIG_PATH"}
    full_env.update(env or {})
    return subprocess.run([*(prefix or []), *rompy_cmd(*args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, **popen)


def run(argv: list[str], cwd: Path, env: dict | None = None, timeout: float = 120,
        **kwargs) -> subprocess.CompletedProcess:
    """Any command, in a clean environment unless `env` is given."""
    return subprocess.run(argv, cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout, **kwargs)


@contextmanager
def rompy_running(*args: str, cwd: Path, stderr=subprocess.PIPE):
    """`python -m rompy ARGS` in the background, yielded once its model has printed `started`; killed on the way out."""
    proc = subprocess.Popen(rompy_cmd(*args), cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert proc.stdout.readline().strip() == "started", "the model did not start"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def read_record(run_dir: Path) -> dict:
    """The run record (rompy-result.json) of `run_dir`."""
    return json.loads((Path(run_dir) / "rompy-result.json").read_text())


@contextmanager
def kill_on_exit(proc: subprocess.Popen):
    """Yield `proc`; stop it on the way out if it still runs (say, after a failed assertion).

    SIGTERM first, so that rompy cancels what it started (SLURM jobs, containers); SIGKILL
    only if it has not ended after a grace period.
    """
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def complete(line: str, cwd, env=None) -> list[str]:
    """COMPREPLY for the command line `line` with the cursor at its end."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    driver = (
        'set -e\n'
        'eval "$(rompy --shell-completion install=bash)"\n'
        f'COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; COMP_CWORD={cword}\n'
        'COMP_WORDS=($COMP_LINE)\n'
        'hydra_bash_completion\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(["bash", "-c", driver], cwd=cwd, env=env or clean_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return sorted(filter(None, proc.stdout.splitlines()))
