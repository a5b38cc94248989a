"""The Veros model as rompy sees it before anything runs: its options, what it renders and stages, bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from rompy.config import Runtime
from rompy.core.time import TimeRange
from rompy.errors import ConfigError
from rompy_veros.config import VerosConfig
from rompy_veros.setups import constant_settings, find_setup

ACC = find_setup("acc") / "acc.py"


def runtime(tmp_path: Path, duration: str = "10d", interval: str = "5d") -> Runtime:
    return Runtime(run_id="r", period=TimeRange(start=datetime(2020, 1, 1), duration=duration, interval=interval),
                   run_dir=tmp_path / "r")


def test_the_package_brings_its_options_to_rompy(rompy, workdir):
    proc = rompy("model=veros_acc", "postprocessor=veros_summary", "model.r_bot=2e-5", "dry_run=true")
    assert proc.returncode == 0, proc.stderr
    assert "type: veros\n" in proc.stdout and "setup: acc\n" in proc.stdout and "r_bot: 2.0e-05" in proc.stdout
    assert "type: veros_summary" in proc.stdout
    assert not (workdir / "output").exists()


def test_rompy_help_lists_the_package_options_where_hydra_searches_them(rompy, workdir):
    """--help lists the plugin's options (it reads the `rompy.config_groups` entry point, no Hydra),
    with the plugin's folder at the place Hydra's search path has it."""
    import importlib.util
    import re

    text = rompy("--help").stdout
    for group, option in [("model", "veros_acc"), ("postprocessor", "veros_summary"), ("ensemble", "veros_friction")]:
        assert re.search(rf"^{group}=\S*\b{option}\b", text, re.M), f"{group}={option} not listed"
    section = text.split("Config search path")[1].split("  Commit your own")[0]
    listed = [line.split()[-1] for line in section.splitlines()[1:]]
    conf = Path(importlib.util.find_spec("rompy_veros.conf").submodule_search_locations[0]).resolve()
    searched = [row.split("|")[2].strip() for row in rompy("--info", "searchpath").stdout.splitlines()
                if row.startswith("| ") and ("file://" in row or "pkg://rompy_veros" in row)]
    assert [str(conf) if row == "pkg://rompy_veros.conf" else row.removeprefix("file://") for row in searched] == listed


def _fake_restart(path: Path, nx: int, ny: int, nz: int) -> str:
    """An HDF5 file shaped as a Veros restart of an nx x ny x nz grid (2 ghost cells each side in x and y)."""
    import h5py

    with h5py.File(path, "w") as restart:
        restart.create_dataset("core/temp", shape=(nx + 4, ny + 4, nz, 3), dtype="f8")
    return str(path)


BAD_INPUT = {
    "unknown setup": (["model.setup=acx"], "model.setup = 'acx': unknown Veros setup; did you mean 'acc'?"),
    "missing setup file": (["model.setup=./mine.py"], "model.setup = './mine.py': no such setup file"),
    "unknown setting": (["+model.settings.enable_idemx=true"],
                        "model.settings.enable_idemx = True: unknown Veros setting; did you mean 'enable_idemix'?"),
    "setting of another type": (["+model.settings.enable_idemix=sometimes"],
                                "model.settings.enable_idemix = 'sometimes': must be true or false"),
    "runlen by hand": (["+model.settings.runlen=86400"], "model.settings.runlen = 86400: set by rompy: use period"),
    "missing restart": (["model.restart=gone.restart.h5"], "model.restart.src = 'gone.restart.h5': no such file"),
    "restart of another grid": (["model.restart=other.restart.h5"],
                                "model.restart = 'other.restart.h5': written on a 20x42x15 grid, but this run's "
                                "grid is 30x42x15"),
    "restart that is no restart": (["model.restart=acc.py"], "model.restart = 'acc.py': not a Veros restart file"),
    "period under one step": (["period.duration=6h"], "period.duration = 6:00:00: shorter than one Veros time step "
                                                      "(dt_tracer = 43200 s in acc)"),
}


@pytest.mark.parametrize("overrides, expected", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_one_line_and_nothing_runs(rompy, workdir, overrides, expected):
    _fake_restart(workdir / "other.restart.h5", 20, 42, 15)
    (workdir / "acc.py").write_bytes(ACC.read_bytes())
    proc = rompy("model=veros_acc", *overrides)  # not a dry run: the error must come before anything exists
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rompy: error: {expected}"), proc.stderr
    assert not (workdir / "output").exists()


def test_render_says_what_veros_runs(tmp_path):
    model = VerosConfig(r_bot=2e-5, dt_tracer=21600, settings={"enable_idemix": "true", "AB_eps": 0.2})
    files = model.render(runtime(tmp_path))
    document = json.loads(files["veros.json"])
    assert document == {"setup": "acc.py", "restart": None, "snapshot_interval_s": 432000.0,
                        "settings": {"runlen": 864000.0, "dt_tracer": 21600.0, "r_bot": 2e-5,
                                     "enable_idemix": True, "AB_eps": 0.2}}
    assert files["veros_run.py"].startswith(b'"""Run one Veros setup')
    assert model.model_command() == ["python3", "veros_run.py", "veros.json"]
    # the model's own time step decides what "one step" is
    with pytest.raises(ConfigError, match="dt_tracer = 21600 s"):
        model.render(runtime(tmp_path, duration="3h", interval="1h"))


def test_a_setup_file_of_your_own_is_staged_with_its_checksum(tmp_path):
    mine = tmp_path / "channel.py"
    mine.write_text(ACC.read_text().replace("settings.dt_tracer = 86400 / 2.0", "settings.dt_tracer = 3600.0"))
    model = VerosConfig(setup=str(mine))
    assert json.loads(model.render(runtime(tmp_path, duration="2h", interval="1h"))["veros.json"])["setup"] == \
        "channel.py"
    (tmp_path / "r").mkdir()
    [staged] = model.stage(tmp_path / "r")
    assert staged["dest"] == "channel.py" and (tmp_path / "r" / "channel.py").read_bytes() == mine.read_bytes()
    assert staged["sha256"] == hashlib.sha256(mine.read_bytes()).hexdigest()
    mine.write_text("settings.dt_tracer = (\n")
    with pytest.raises(ConfigError, match="not Python: line 1"):
        model.render(runtime(tmp_path))


def test_a_shipped_setup_is_staged_without_veros_package_files(tmp_path):
    (tmp_path / "r").mkdir()
    staged = VerosConfig(setup="acc").stage(tmp_path / "r")
    assert [item["dest"] for item in staged] == ["acc.py"]
    assert staged[0]["sha256"] == hashlib.sha256(ACC.read_bytes()).hexdigest()


def test_a_setup_is_read_for_its_constant_settings(tmp_path):
    acc = constant_settings(ACC)
    assert (acc["nx"], acc["ny"], acc["nz"], acc["dt_tracer"], acc["r_bot"]) == (30, 42, 15, 43200.0, 1e-5)
    assert acc["A_h"] == pytest.approx((2 * 6370e3 / 180.0 * 3.141592653589793) ** 3 * 2e-11)  # from degtom
    computed = tmp_path / "computed.py"
    computed.write_text("def f(settings):\n    settings.nx = 10\n    settings.dt_tracer = step()\n"
                        "    settings.dt_mom = settings.dt_tracer / 2\n")
    assert constant_settings(computed) == {"nx": 10}


def test_rompy_validating_a_veros_config_imports_no_numerics():
    code = ("import sys; from rompy_veros.config import VerosConfig; "
            "VerosConfig(setup='acc', r_bot=1e-5, settings={'enable_idemix': True}); "
            "print(sorted(m for m in ('numpy', 'xarray', 'matplotlib', 'h5py', 'veros.core', 'veros.veros') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_search_path_plugin_acts_only_while_rompy_composes(monkeypatch):
    from hydra._internal.config_search_path_impl import ConfigSearchPathImpl
    from hydra_plugins.rompy_veros_searchpath import RompyVerosSearchPathPlugin

    from rompy.cli import searchpath

    def paths(composing: bool) -> list[str]:
        monkeypatch.setattr(searchpath, "COMPOSING", composing)
        search_path = ConfigSearchPathImpl()
        search_path.append("main", "file:///app/conf")
        RompyVerosSearchPathPlugin().manipulate_search_path(search_path)
        return [element.path for element in search_path.get_path()]

    assert paths(False) == ["file:///app/conf"]  # another Hydra app's `model` group gains nothing
    assert paths(True) == ["file:///app/conf", "pkg://rompy_veros.conf"]  # after everything rompy searches
