"""The examples/backends scripts run as documented, from a fresh working directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.cli import REPO

EXAMPLES = ["01_basic_local_run.py", "03_custom_postprocessor.py", "04_complete_workflow.py"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(tmp_path, name):
    proc = subprocess.run([sys.executable, str(REPO / "examples/backends" / name)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (run_dir,) = (tmp_path / "output").iterdir()
    record = json.loads((run_dir / "rompy-result.json").read_text())
    assert record["status"] == "succeeded"
    assert (run_dir / "outputs/dispersion.csv").exists()
    # Run twice: delete_existing=True lets the example be re-run as documented.
    again = subprocess.run([sys.executable, str(REPO / "examples/backends" / name)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
