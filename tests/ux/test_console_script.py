"""`rompy` (the console script) is the same program as `python -m rompy`."""

from __future__ import annotations

import re
import sys

import pytest

from tests.helpers.cli import run

COMMANDS = [
    ["--help"],
    ["-h"],
    ["--cfg", "job"],
    ["--cfg", "job", "backend=docker", "backend.cpu=2"],
    ["dry_run=true", "run_id=same"],
    ["backend.cpuu=3"],                  # a usage error: exit 2, one line on stderr
    ["backend=kubernetes"],
    ["--info", "searchpath"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_console_script_matches_python_m(args, rompy_script, workdir):
    script = run([str(rompy_script), *args], cwd=workdir)
    module = run([sys.executable, "-m", "rompy", *args], cwd=workdir)
    assert script.returncode == module.returncode, (script.stderr, module.stderr)
    assert script.stdout == module.stdout
    assert script.stderr == module.stderr


def test_a_real_run_through_the_console_script(rompy_script, workdir):
    proc = run([str(rompy_script), "run_id=console"], cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output" / "console" / "outputs" / "dispersion.csv").is_file()


def test_exit_codes_match_for_a_failed_run(rompy_script, workdir):
    args = ["backend.command='exit 3'"]
    script = run([str(rompy_script), *args, "run_id=a"], cwd=workdir)
    module = run([sys.executable, "-m", "rompy", *args, "run_id=b"], cwd=workdir)
    assert script.returncode == module.returncode == 1
    strip = lambda text: re.sub(r"\b[ab]\b", "X", re.sub(r"\d+\.\d+ s", "T", text))  # noqa: E731
    assert strip(script.stderr) == strip(module.stderr)
