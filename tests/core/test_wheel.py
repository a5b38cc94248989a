"""The built wheel carries conf/ and works from an empty directory in a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile

import pytest

from tests.helpers.cli import REPO


@pytest.mark.slow
def test_wheel_install_dry_run_and_demo_from_empty_dir(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("rompy/conf/rompy.yaml", "rompy/conf/backend/local.yaml", "rompy/conf/backend/docker.yaml",
                     "rompy/conf/postprocessor/noop.yaml", "rompy/conf/model/demo.yaml",
                     "rompy/demo/wave_dispersion.py", "hydra_plugins/rompy_searchpath/__init__.py",
                     "rompy/schemas/backend-local.json"):
        assert expected in names, expected
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin/python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, timeout=900)
    empty = tmp_path / "empty"
    empty.mkdir()
    dry = subprocess.run([str(env_dir / "bin/rompy"), "dry_run=true"], cwd=empty, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "type: local" in dry.stdout
    assert list(empty.iterdir()) == []
    real = subprocess.run([str(py), "-m", "rompy", "run_id=w"], cwd=empty, capture_output=True, text=True)
    assert real.returncode == 0, real.stderr
    assert (empty / "output/w/outputs/dispersion.csv").exists()
    # A committed group in ./conf is picked up by the installed wheel too.
    (empty / "conf/backend").mkdir(parents=True)
    (empty / "conf/backend/mine.yaml").write_text("type: local\ncommand: echo wheel-user-group\n")
    mine = subprocess.run([str(py), "-m", "rompy", "backend=mine", "run_id=m"], cwd=empty, capture_output=True, text=True)
    assert mine.returncode == 0 and "wheel-user-group" in mine.stdout, mine.stderr
