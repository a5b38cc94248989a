"""Tests for the demo model ``src/rompy/demo/wave_dispersion.py``.

The script is loaded by path (it is a standalone file copied into run
directories), so these tests do not need the rompy package to be installed.

Reference values
----------------
* Deep water: L0 = g T^2 / (2 pi) (USACE Coastal Engineering Manual,
  EM 1110-2-1100 Part II-1, Eq. II-1-13; "L0 = 1.56 T^2 m").
  T = 10 s, g = 9.81 -> 156.13 m.
* CEM EM 1110-2-1100 Part II, Chapter 1 (30 Apr 2002), Example Problem II-1-1:
  T = 10 s, d = 3 m -> d/L = 0.05641, L = 53.2 m, C = 5.32 m/s
  (http://coastalengineeringmanual.tpub.com/Part-II-Chap1/Part-II-Chap10017.htm).
  The example rounds L0 to 156 m; our exact values (g = 9.81) are
  d/L = 0.056438, L = 53.156 m, C = 5.3156 m/s, all within 0.1 %.
* T = 10 s, h = 10 m -> L = 92.37 m and T = 8 s, h = 5 m -> L = 53.08 m.
  These are not copied from a table: they were computed and cross-checked by
  three methods -- bisection on omega^2 = g k tanh(kh), Hunt's (1979) Pade
  approximation (agrees to < 1e-6 relative here), and the Fenton & McKee
  (1990) explicit approximation L ~ L0 tanh((2 pi h/L0)^(3/4))^(2/3), which
  gives 93.88 m and 53.96 m (1.6 % high, its documented accuracy).  The
  bisection cross-check is repeated below (test_matches_independent_solver).
  Note: the sometimes-quoted "L ~ 54.7 m" for T = 8 s, h = 5 m is 3 % off and
  is not used.
"""

import csv
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "src" / "rompy" / "demo" / "wave_dispersion.py"

HEADER = [
    "depth_m",
    "period_s",
    "wavenumber_rad_m",
    "wavelength_m",
    "phase_speed_m_s",
    "group_speed_m_s",
    "kh",
]

REL = 1e-3  # 0.1 % against published / independently verified values


def _load_module():
    spec = importlib.util.spec_from_file_location("wave_dispersion_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wd = _load_module()


def _bisect_wavelength(T, h, g=9.81):
    """Independent solver: bisection on L = L0 tanh(2 pi h / L)."""
    L0 = g * T * T / (2.0 * math.pi)
    f = lambda L: L - L0 * math.tanh(2.0 * math.pi * h / L)  # noqa: E731
    lo, hi = 1e-9, L0  # f(lo) < 0, f(L0) >= 0
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------- physics


def test_deep_water_wavelength():
    row = wd.dispersion_row(10000.0, 10.0)
    assert row["wavelength_m"] == pytest.approx(156.13, rel=REL)
    assert row["wavelength_m"] == pytest.approx(9.81 * 100 / (2 * math.pi), rel=1e-12)
    assert row["group_speed_m_s"] == pytest.approx(row["phase_speed_m_s"] / 2, rel=1e-12)


@pytest.mark.parametrize("depth", [math.inf, "inf", 1e6, 1e12, 1e300])
def test_infinite_and_huge_depth(depth):
    row = wd.dispersion_row(depth, 10.0)
    assert row["wavelength_m"] == pytest.approx(156.13, rel=REL)
    assert row["group_speed_m_s"] == pytest.approx(row["phase_speed_m_s"] / 2, rel=1e-12)
    assert all(math.isfinite(row[k]) for k in HEADER if k not in ("depth_m", "kh"))


def test_cem_example_ii_1_1():
    # CEM Example Problem II-1-1: T = 10 s, d = 3 m.
    row = wd.dispersion_row(3.0, 10.0, g=9.81)
    assert 3.0 / row["wavelength_m"] == pytest.approx(0.05641, rel=REL)
    assert row["wavelength_m"] == pytest.approx(53.2, rel=REL)
    assert row["phase_speed_m_s"] == pytest.approx(5.32, rel=REL)


@pytest.mark.parametrize(
    "period, depth, expected_L",
    [
        (10.0, 10.0, 92.37),  # see module docstring for verification
        (8.0, 5.0, 53.08),
    ],
)
def test_intermediate_depth_wavelength(period, depth, expected_L):
    L = 2 * math.pi / wd.wavenumber(period, depth)
    assert L == pytest.approx(expected_L, rel=REL)


def test_fenton_mckee_approximation_is_close():
    # Fenton & McKee (1990) explicit form, accurate to ~1.7 %.
    for T in (4.0, 8.0, 12.0, 20.0):
        for h in (1.0, 5.0, 20.0, 100.0):
            L0 = 9.81 * T * T / (2 * math.pi)
            approx = L0 * math.tanh((2 * math.pi * h / L0) ** 0.75) ** (2.0 / 3.0)
            L = 2 * math.pi / wd.wavenumber(T, h)
            assert L == pytest.approx(approx, rel=0.02)


@pytest.mark.parametrize("T", [1.0, 5.0, 10.0, 25.0])
@pytest.mark.parametrize("h", [0.5, 3.0, 10.0, 50.0, 400.0])
def test_matches_independent_solver(T, h):
    L = 2 * math.pi / wd.wavenumber(T, h)
    assert L == pytest.approx(_bisect_wavelength(T, h), rel=1e-9)


def test_shallow_water_limit():
    g, h, T = 9.81, 0.5, 200.0  # kh ~ 0.007
    row = wd.dispersion_row(h, T, g)
    assert row["kh"] < 0.01
    assert row["phase_speed_m_s"] == pytest.approx(math.sqrt(g * h), rel=1e-4)
    assert row["group_speed_m_s"] == pytest.approx(row["phase_speed_m_s"], rel=1e-4)


def test_group_speed_between_limits():
    for h in (1.0, 10.0, 100.0):
        row = wd.dispersion_row(h, 8.0)
        n = row["group_speed_m_s"] / row["phase_speed_m_s"]
        assert 0.5 <= n <= 1.0


DEPTHS = [1e-3, 0.1, 1.0, 3.0, 10.0, 37.5, 100.0, 1000.0, 1e5]
PERIODS = [0.5, 1.0, 2.0, 5.0, 8.0, 10.0, 15.0, 30.0, 600.0]


@pytest.mark.parametrize("g", [9.81, 1.62])
def test_residual_grid(g):
    for h in DEPTHS:
        for T in PERIODS:
            k = wd.wavenumber(T, h, g)
            omega2 = (2 * math.pi / T) ** 2
            residual = omega2 - g * k * math.tanh(k * h)
            assert abs(residual) <= 1e-12 * omega2, (h, T, residual)


def test_row_keys_and_consistency():
    row = wd.dispersion_row(20, 10)
    assert list(row) == HEADER
    assert row["wavelength_m"] == pytest.approx(2 * math.pi / row["wavenumber_rad_m"])
    assert row["phase_speed_m_s"] == pytest.approx(row["wavelength_m"] / 10.0)
    assert row["kh"] == pytest.approx(20 * row["wavenumber_rad_m"])


@pytest.mark.parametrize(
    "period, depth",
    [(0, 10), (-5, 10), (10, 0), (10, -1), ("x", 10), (10, None), (True, 10),
     (float("nan"), 10), (math.inf, 10)],
)
def test_wavenumber_rejects_invalid(period, depth):
    with pytest.raises(ValueError):
        wd.wavenumber(period, depth)


# ---------------------------------------------------------------- CLI


def _run(tmp_path, config, raw=None, args=None):
    inp = tmp_path / "INPUT"
    if raw is not None:
        inp.write_text(raw)
    elif config is not None:
        inp.write_text(json.dumps(config))
    cmd = [sys.executable, str(SCRIPT)] + (args if args is not None else ["INPUT"])
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_cli_lists(tmp_path):
    proc = _run(tmp_path, {"depths": [10, 20, 50], "periods": [5, 10], "g": 9.81,
                           "output": "outputs/dispersion.csv", "extra": "ignored"})
    assert proc.returncode == 0, proc.stderr
    rows = _read_csv(tmp_path / "outputs" / "dispersion.csv")
    assert rows[0] == HEADER
    assert len(rows) == 1 + 6
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 7
    assert lines[0].startswith("h=10 m T=5 s: L=")
    assert "m/s cg=" in lines[0]
    assert lines[-1] == "wrote 6 rows to outputs/dispersion.csv"
    # full precision: values round-trip and agree with the library function
    by_key = {(float(r[0]), float(r[1])): r for r in rows[1:]}
    ref = wd.dispersion_row(10.0, 10.0)
    got = by_key[(10.0, 10.0)]
    for name, text in zip(HEADER, got):
        assert float(text) == ref[name]


def test_cli_scalars_and_defaults(tmp_path):
    proc = _run(tmp_path, {"depths": 10, "periods": 10})
    assert proc.returncode == 0, proc.stderr
    rows = _read_csv(tmp_path / "outputs" / "dispersion.csv")
    assert rows[0] == HEADER
    assert len(rows) == 2
    assert float(rows[1][3]) == pytest.approx(92.37, rel=REL)
    assert "wrote 1 rows to" in proc.stdout


def test_cli_mixed_scalar_list_and_nested_output(tmp_path):
    proc = _run(tmp_path, {"depths": [5, 1e4], "periods": 8, "output": "a/b/c/out.csv"})
    assert proc.returncode == 0, proc.stderr
    rows = _read_csv(tmp_path / "a" / "b" / "c" / "out.csv")
    assert len(rows) == 3


def test_cli_infinite_depth(tmp_path):
    proc = _run(tmp_path, None, raw='{"depths": [Infinity, "inf"], "periods": 10}')
    assert proc.returncode == 0, proc.stderr
    rows = _read_csv(tmp_path / "outputs" / "dispersion.csv")
    assert len(rows) == 3
    for r in rows[1:]:
        assert float(r[3]) == pytest.approx(156.13, rel=REL)
        assert float(r[5]) == pytest.approx(float(r[4]) / 2, rel=1e-12)


@pytest.mark.parametrize(
    "config, raw, args",
    [
        ({"depths": [10, -1], "periods": 5}, None, None),
        ({"depths": 10, "periods": 0}, None, None),
        ({"depths": 0, "periods": 5}, None, None),
        ({"depths": "ten", "periods": 5}, None, None),
        ({"depths": [10], "periods": [5, None]}, None, None),
        ({"depths": 10, "periods": 5, "g": -9.81}, None, None),
        ({"depths": 10, "periods": 1e300}, None, None),  # omega**2 underflows
        (None, '{"depths": NaN, "periods": 5}', None),
        ({"depths": [], "periods": 5}, None, None),
        ({"periods": 5}, None, None),
        ([1, 2, 3], None, None),
        (None, "{not json", None),
        (None, "", None),
        (None, None, ["does-not-exist.json"]),
        (None, None, []),
    ],
)
def test_cli_invalid_input(tmp_path, config, raw, args):
    proc = _run(tmp_path, config, raw=raw, args=args)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert err.startswith("wave_dispersion: error:")
    assert len(err.splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "outputs").exists()


def test_main_in_process(tmp_path, monkeypatch, capsys):
    (tmp_path / "in.json").write_text(json.dumps({"depths": 20, "periods": [6, 12]}))
    monkeypatch.chdir(tmp_path)
    assert wd.main(["in.json"]) == 0
    assert "wrote 2 rows" in capsys.readouterr().out
    assert wd.main(["missing.json"]) == 2
    assert capsys.readouterr().err.startswith("wave_dispersion: error:")
