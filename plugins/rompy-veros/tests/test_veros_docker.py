"""Veros in a container: the image the test set-up builds offline runs the same model as this machine."""

from __future__ import annotations

import pytest

from tests.helpers.cli import read_record, run_rompy


@pytest.mark.docker
def test_veros_in_docker_gives_the_numbers_a_local_run_gives(workdir, veros_image):
    common = ("model=veros_acc", "postprocessor=veros_summary", "period.duration=5d", "period.interval=5d")
    in_docker = run_rompy(*common, "run_id=docker", "backend=docker", f"backend.image={veros_image}",
                          "backend.pull_policy=never", cwd=workdir)
    assert in_docker.returncode == 0, in_docker.stdout[-3000:] + in_docker.stderr[-3000:]
    local = run_rompy(*common, "run_id=local", cwd=workdir)
    assert local.returncode == 0, local.stderr[-3000:]
    record = read_record(workdir / "output" / "docker")
    assert record["backend"]["details"]["image"] == veros_image
    assert (workdir / "output" / "docker" / "outputs" / "acc_0010.restart.h5").is_file()
    theirs = record["postprocess"]["metrics"]
    ours = read_record(workdir / "output" / "local")["postprocess"]["metrics"]
    # the same code and NumPy's own arithmetic: equal but for the last bits of another NumPy build
    assert theirs["transport_sv"] == pytest.approx(ours["transport_sv"], rel=1e-9)
    assert theirs["mean_ke_j_per_kg"] == pytest.approx(ours["mean_ke_j_per_kg"], rel=1e-9)
