"""`import rompy` changes nothing global; log_level sets rompy's own verbosity."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.cli import run_rompy


def test_import_rompy_leaves_logging_alone():
    code = (
        "import logging; root = logging.getLogger(); before = (list(root.handlers), root.level); "
        "import rompy, rompy.backends, rompy.model, rompy.cli; "
        "assert (list(root.handlers), root.level) == before, 'root logger changed'; "
        "import sys; assert 'docker' not in sys.modules, 'docker SDK imported eagerly'; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_cli_does_not_configure_the_root_logger(workdir):
    code = (
        "import logging, sys; from rompy.cli import run_cli; "
        "code = run_cli(['dry_run=true']); root = logging.getLogger(); "
        "print(code, len(root.handlers), root.level)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=workdir)
    assert proc.stdout.strip().splitlines()[-1] == "0 0 30", proc.stderr


def test_log_level_controls_rompys_messages(workdir):
    info = run_rompy("run_id=l1", cwd=workdir)
    assert "rompy: run l1 succeeded" in info.stderr
    quiet = run_rompy("run_id=l2", "log_level=WARNING", cwd=workdir)
    assert quiet.returncode == 0
    assert "rompy:" not in quiet.stderr
    debug = run_rompy("run_id=l3", "log_level=debug", cwd=workdir)
    assert debug.returncode == 0
