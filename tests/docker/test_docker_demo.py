"""End to end: the demo model in the python test image, run by a non-root user.

The invoking user's uid:gid becomes the container user, so the outputs written
through the mounted run directory belong to that user, never to root. Also runs
examples/backends/02_docker_run.py as documented.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.helpers.cli import REPO, read_record, run_rompy
from tests.helpers.docker import PYTHON, containers_of

pytestmark = pytest.mark.docker


def test_demo_model_as_a_non_root_user(docker_client, run_id, test_user, user_dir):
    uid, gid, prefix = test_user
    proc = run_rompy("backend=docker", f"backend.image={PYTHON}", f"run_id={run_id}",
                     f"output_dir={user_dir / 'out'}", cwd=user_dir, prefix=prefix,
                     env={"HOME": str(user_dir), "ROMPY_STATE_DIR": ""}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run_dir = user_dir / "out" / run_id
    rows = list(csv.DictReader((run_dir / "outputs" / "dispersion.csv").open()))
    assert len(rows) == 3 * 2  # default depths x periods
    assert "wrote 6 rows" in proc.stdout  # streamed live to the console
    for path in [run_dir / "outputs" / "dispersion.csv", run_dir / "outputs"]:
        assert (path.stat().st_uid, path.stat().st_gid) == (uid, gid)
    record = read_record(run_dir)
    assert record["status"] == "succeeded"
    assert record["backend"]["details"]["user"] == f"{uid}:{gid}"
    assert not containers_of(docker_client, run_id)


def test_container_uid_is_the_invoking_users(docker_client, run_id, test_user, user_dir):
    uid, gid, prefix = test_user
    proc = run_rompy("backend=docker", "backend.image=rompy-test-busybox:latest",
                     "backend.command='id -u; id -g; echo $HOME; touch $HOME/ok && echo home-ok'",
                     f"run_id={run_id}", f"output_dir={user_dir / 'out'}", cwd=user_dir, prefix=prefix,
                     env={"HOME": str(user_dir), "ROMPY_STATE_DIR": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:4] == [str(uid), str(gid), "/rompy/home", "home-ok"]


def test_example_02_runs_with_a_local_image(docker_client, tmp_path):
    script = REPO / "examples" / "backends" / "02_docker_run.py"
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "ROMPY_EXAMPLE_IMAGE": PYTHON})
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "output" / "example_docker_run"
    assert read_record(run_dir)["status"] == "succeeded"
    assert (run_dir / "outputs" / "dispersion.csv").exists()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary


def test_example_02_says_what_to_do_when_the_image_is_missing(docker_client, tmp_path):
    script = REPO / "examples" / "backends" / "02_docker_run.py"
    env = {**__import__("os").environ, "ROMPY_EXAMPLE_IMAGE": "localhost:1/rompy-absent:latest"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "docker pull localhost:1/rompy-absent:latest" in proc.stderr
    assert "ROMPY_EXAMPLE_IMAGE=rompy-test-python:latest" in proc.stderr
