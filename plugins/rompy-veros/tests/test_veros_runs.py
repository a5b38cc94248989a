"""Veros runs through rompy on this machine: outputs, plot and numbers, the physics, a restart, your own setup."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os

import pytest

from tests.helpers.cli import read_record, run_rompy
from rompy_veros.setups import find_setup

ACC = find_setup("acc") / "acc.py"
#: A run continued from a restart must equal the straight run to this relative tolerance (Veros writes every
#: prognostic field and both Adams-Bashforth time levels to its restart file: in practice they agree exactly).
RESTART_TOLERANCE = 1e-10


def _run(cwd, run_id: str, *overrides: str):
    proc = run_rompy("model=veros_acc", "postprocessor=veros_summary", f"run_id={run_id}", *overrides, cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return cwd / "output" / run_id


@pytest.fixture(scope="session")
def straight(tmp_path_factory):
    """acc for 10 model days in one run, with snapshots every 5 days: run once per test session, whichever
    xdist worker asks first (their base folders share a parent, unique to the session)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    with open(shared / "veros-straight.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run_dir = shared / "veros-straight" / "output" / "straight"
        if not (run_dir / "rompy-result.json").is_file():
            (shared / "veros-straight").mkdir(exist_ok=True)
            _run(shared / "veros-straight", "straight", "period.duration=10d", "period.interval=5d")
    return run_dir


def test_a_run_leaves_veros_outputs_a_plot_and_its_numbers(straight):
    record = read_record(straight)
    assert record["status"] == "succeeded" and record["exit_code"] == 0
    assert record["inputs"][0]["dest"] == "acc.py"
    assert record["inputs"][0]["sha256"] == hashlib.sha256(ACC.read_bytes()).hexdigest()
    outputs = straight / "outputs"
    for name in ("acc.snapshot.nc", "acc.averages.nc", "acc.energy.nc", "acc.overturning.nc", "acc_0020.restart.h5"):
        assert (outputs / name).is_file(), name
    png = (outputs / "veros_summary.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and 10_000 < len(png) < 200_000
    summary = json.loads((outputs / "veros_summary.json").read_text())
    metrics = record["postprocess"]["metrics"]
    assert summary["setup"] == "acc" and summary["model_days"] == metrics["model_days"] == 10.0
    assert summary["transport_sv"] == metrics["transport_sv"]
    assert summary["series"]["model_days"] == [5.0, 10.0]  # one snapshot per period.interval
    assert "channel transport" in record["postprocess"]["message"]


def test_the_wind_drives_an_eastward_current_whose_energy_stays_finite_and_positive(straight):
    series = json.loads((straight / "outputs" / "veros_summary.json").read_text())["series"]
    # westerly winds over the channel spin up an eastward current: positive, and growing over the first days
    assert 0 < series["transport_sv"][0] < series["transport_sv"][1] < 50
    assert all(math.isfinite(e) and e > 0 for e in series["mean_ke_j_per_kg"])


def test_a_restarted_run_matches_a_straight_run(straight, tmp_path):
    import xarray as xr

    first = _run(tmp_path, "first", "period.duration=5d", "period.interval=5d")
    restart = first / "outputs" / "acc_0010.restart.h5"
    second = _run(tmp_path, "second", "period.duration=5d", "period.interval=5d", f"model.restart={restart}")
    staged = read_record(second)["inputs"][-1]
    assert staged["dest"] == "datasets/acc_0010.restart.h5"
    assert staged["sha256"] == hashlib.sha256(restart.read_bytes()).hexdigest()
    with xr.open_dataset(straight / "outputs" / "acc.snapshot.nc") as one, \
            xr.open_dataset(second / "outputs" / "acc.snapshot.nc") as two:
        assert float(two["Time"][-1]) == float(one["Time"][-1]) == 10.0  # model time carries on from the restart
        for name in ("psi", "u", "v", "temp", "salt"):
            a, b = one[name].isel(Time=-1), two[name].isel(Time=-1)
            scale = float(abs(a).max())
            assert float(abs(a - b).max()) <= RESTART_TOLERANCE * scale, name
    assert read_record(second)["postprocess"]["metrics"]["transport_sv"] == \
        pytest.approx(read_record(straight)["postprocess"]["metrics"]["transport_sv"], rel=RESTART_TOLERANCE)


def test_a_setup_file_of_your_own_runs(workdir):
    source = ACC.read_text()
    assert 'settings.identifier = "acc"' in source
    (workdir / "channel.py").write_text(source.replace('settings.identifier = "acc"', 'settings.identifier = "channel"'))
    run_dir = _run(workdir, "mine", "model.setup=channel.py", "period.duration=1d", "period.interval=1d")
    assert (run_dir / "channel.py").is_file()
    summary = json.loads((run_dir / "outputs" / "veros_summary.json").read_text())
    assert summary["setup"] == "channel" and summary["model_days"] == 1.0
