"""Sweeps of Veros over bottom friction, on the parallel launcher and on SLURM: more friction, less transport."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.sweeps import Sweep


def _transport_by_friction(sweep: Sweep) -> dict[float, float]:
    """{r_bot: channel transport in Sv} from the table `python -m rompy_veros.table` prints as JSON."""
    proc = subprocess.run([sys.executable, "-m", "rompy_veros.table", "--json", str(sweep.dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert all(row["status"] == "succeeded" for row in rows), rows
    return {float(row["model.r_bot"]): row["transport_sv"] for row in rows}


def _assert_friction_slows_the_current(transport: dict[float, float]) -> None:
    frictions = sorted(transport)
    values = [transport[r] for r in frictions]
    assert all(v > 0 for v in values), transport
    assert all(a > b for a, b in zip(values, values[1:])), f"transport does not fall as friction rises: {transport}"


def test_a_friction_sweep_on_this_machine_slows_the_current(tmp_path):
    sweep = Sweep(tmp_path)
    proc = sweep.run("+ensemble=veros_friction", "hydra/launcher=parallel")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    transport = _transport_by_friction(sweep)
    assert sorted(transport) == [0.5e-5, 2e-5, 8e-5]
    _assert_friction_slows_the_current(transport)
    table = subprocess.run([sys.executable, "-m", "rompy_veros.table", str(sweep.dir)], capture_output=True,
                           text=True, timeout=120).stdout.splitlines()
    assert table[0].split()[:4] == ["member", "status", "model.r_bot", "transport_sv"] and len(table) == 4


@pytest.mark.slurm
def test_a_friction_sweep_on_slurm_slows_the_current(tmp_path, slurm_cluster):
    sweep = Sweep(tmp_path)
    proc = sweep.run("model=veros_acc", "postprocessor=veros_summary", "period.duration=5d", "period.interval=5d",
                     "model.r_bot=0.5e-5,8e-5", "hydra/launcher=slurm", "hydra.launcher.partition=debug",
                     "backend.timeout=600")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sweep.summary()["launcher"] == "slurm"
    assert all(member["details"].get("slurm_job_id") for member in sweep.summary()["members"])
    _assert_friction_slows_the_current(_transport_by_friction(sweep))
