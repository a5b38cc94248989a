"""MPI-launched models: `<mpiexec> -n <cpu> <executable>` with Debian's mpich, 2 real ranks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rompy.backends import LocalConfig
from rompy.model import ModelRun

RANK_SCRIPT = "import os; print('rank', os.environ['PMI_RANK'], 'of', os.environ['PMI_SIZE'])"


def test_mpiexec_runs_cpu_ranks(tmp_path):
    (tmp_path / "rank.py").write_text(RANK_SCRIPT)
    run = ModelRun(run_id="mpi", output_dir=tmp_path)
    backend = LocalConfig(timeout=120, cpu=2, mpiexec="mpiexec", executable=f"python3 {tmp_path / 'rank.py'}")
    assert run.run(backend=backend), run.record["message"]
    # Both ranks' output is captured; mpiexec forwards each rank's bytes as they come, so the
    # two lines may interleave ('rankrank 1 of 2' then ' 0 of 2' was seen under load).
    text = (run.logs_dir / "stdout.log").read_text()
    assert sorted(text) == sorted("rank 0 of 2\nrank 1 of 2\n"), text  # ranks 0 and 1, each of 2


def test_an_explicit_n_in_mpiexec_is_not_duplicated(tmp_path):
    (tmp_path / "rank.py").write_text(RANK_SCRIPT)
    backend = LocalConfig(timeout=120, cpu=2, mpiexec="mpiexec -n 1", executable=f"python3 {tmp_path / 'rank.py'}")
    assert backend.resolve_command(["model"]).count("-n") == 1
    run = ModelRun(run_id="mpi1", output_dir=tmp_path)
    assert run.run(backend=backend)
    assert (run.logs_dir / "stdout.log").read_text().strip() == "rank 0 of 1"


def test_mpiexec_wraps_the_models_own_command():
    assert LocalConfig(cpu=3, mpiexec="mpiexec").resolve_command(["python3", "m.py"]) == [
        "mpiexec", "-n", "3", "python3", "m.py"]
    assert LocalConfig(mpiexec="mpirun -np 4").resolve_command("model.exe") == ["mpirun", "-np", "4", "model.exe"]


def test_fractional_cpu_with_mpiexec_is_refused():
    from rompy.backends import DockerConfig

    with pytest.raises(ValidationError, match="whole number"):
        DockerConfig(image="busybox", cpu=1.5, mpiexec="mpiexec")
