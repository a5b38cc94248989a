#!/usr/bin/env python3
"""Linear water-wave dispersion: rompy's built-in demo model.

Why this exists
---------------
rompy needs a "model" that every backend (local, Docker, SLURM, ...) can run
without installing a real ocean model.  A ``sleep``/``echo`` stand-in would
prove nothing about the output, so the demo model does a small but real,
independently checkable computation: it solves the linear (Airy) dispersion
relation

    omega**2 = g * k * tanh(k * h),        omega = 2 * pi / T

for the wavenumber ``k`` at each water depth ``h`` and wave period ``T``, and
writes wavelength, phase speed and group speed to a CSV file.  The results can
be compared with textbook tables (e.g. the USACE Coastal Engineering Manual),
so a run that "succeeded" can also be shown to have produced the right numbers.

The script is copied into a run directory and executed as
``python3 wave_dispersion.py INPUT`` in arbitrary environments, including
minimal container images that only ship ``python3-minimal``.  It therefore uses
the Python standard library only (json, math, csv, os, sys) and avoids syntax
newer than Python 3.6.

Input (JSON object)::

    {"depths": [10, 20, 50], "periods": [5, 10], "g": 9.81,
     "output": "outputs/dispersion.csv"}

``depths`` and ``periods`` may each be a number or a list of numbers (depth
may also be JSON ``Infinity`` or the string ``"inf"`` for deep water); ``g``
defaults to 9.81 m/s^2; ``output`` defaults to ``outputs/dispersion.csv``
relative to the current working directory.  Other keys are ignored.

Exit status: 0 on success, 2 for invalid input (bad arguments, missing file,
bad JSON, non-numeric or non-positive values), 1 if the computation or the
output write fails.  Errors are a single stderr line starting with
``wave_dispersion: error:``.

The functions :func:`wavenumber`, :func:`dispersion_row` and :func:`main` are
importable for testing.
"""

import csv
import json
import math
import os
import sys

PROG = "wave_dispersion"
DEFAULT_G = 9.81
DEFAULT_OUTPUT = os.path.join("outputs", "dispersion.csv")
REL_TOL = 1e-12
MAX_ITER = 100

FIELDS = (
    "depth_m",
    "period_s",
    "wavenumber_rad_m",
    "wavelength_m",
    "phase_speed_m_s",
    "group_speed_m_s",
    "kh",
)


class InputError(ValueError):
    """Invalid user input (reported with exit status 2)."""


class ConvergenceError(ArithmeticError):
    """The dispersion solver did not converge (reported with exit status 1)."""


def _check_number(value, name, allow_inf=False):
    """Return ``value`` as a positive float or raise :class:`InputError`."""
    if isinstance(value, bool):
        raise InputError("%s must be a number, got %r" % (name, value))
    if allow_inf and isinstance(value, str) and value.strip().lower() in (
        "inf",
        "+inf",
        "infinity",
        "+infinity",
    ):
        return math.inf
    if not isinstance(value, (int, float)):
        raise InputError("%s must be a number, got %r" % (name, value))
    try:
        x = float(value)
    except OverflowError:  # a huge JSON integer
        x = math.inf
    if math.isnan(x):
        raise InputError("%s must be a number, got NaN" % name)
    if math.isinf(x) and not (allow_inf and x > 0):
        raise InputError("%s must be finite, got %r" % (name, value))
    if x <= 0.0:
        raise InputError("%s must be positive, got %r" % (name, value))
    return x


def _sech2(x):
    """sech(x)**2 for x >= 0 without overflow (underflows to 0 for large x)."""
    e = math.exp(-2.0 * x)
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _solve_kh(y):
    """Solve x * tanh(x) = y for x > 0 (x = k*h, y = omega**2 * h / g).

    Newton iteration from the Fenton & McKee (1990) explicit approximation,
    safeguarded by a bracket: since tanh(x) <= min(1, x) and
    x*tanh(x) >= x**2/(1+x), the root lies in
    [max(y, sqrt(y)), y + min(1, sqrt(y))].  A Newton step that leaves the
    bracket is replaced by bisection.  Stops when the relative step is below
    ``REL_TOL``.
    """
    if math.isinf(y):
        return math.inf
    sy = math.sqrt(y)
    lo = max(y, sy)
    hi = y + min(1.0, sy)
    # Fenton & McKee (1990): k h ~= k0 h / tanh((k0 h)**(3/4))**(2/3).
    t = math.tanh(y ** 0.75)
    x = y / t ** (2.0 / 3.0) if t > 0.0 else sy
    if not lo <= x <= hi:
        x = 0.5 * (lo + hi)
    for _ in range(MAX_ITER):
        tx = math.tanh(x)
        f = x * tx - y
        if f == 0.0:
            return x
        if f > 0.0:
            hi = min(hi, x)
        else:
            lo = max(lo, x)
        df = tx + x * _sech2(x)
        x_new = x - f / df
        if not lo <= x_new <= hi:
            x_new = 0.5 * (lo + hi)
        if abs(x_new - x) <= REL_TOL * x_new:
            return x_new
        x = x_new
    raise ConvergenceError(
        "dispersion solver did not converge in %d iterations (omega^2 h/g = %r)"
        % (MAX_ITER, y)
    )


def wavenumber(period, depth, g=DEFAULT_G):
    """Wavenumber k [rad/m] solving (2*pi/T)**2 = g k tanh(k h).

    ``depth`` may be ``math.inf`` (deep water, k = omega**2 / g).
    Raises ``ValueError`` (:class:`InputError`) for non-positive or
    non-numeric arguments and :class:`ConvergenceError` if the iteration cap
    is hit.
    """
    period = _check_number(period, "period")
    depth = _check_number(depth, "depth", allow_inf=True)
    g = _check_number(g, "g")
    omega = 2.0 * math.pi / period
    k_deep = omega * omega / g
    if not 0.0 < k_deep < math.inf:
        raise InputError(
            "period=%r with g=%r is outside the floating-point range" % (period, g)
        )
    if math.isinf(depth):
        return k_deep
    y = k_deep * depth
    if math.isinf(y):  # overflow for absurdly large finite depth
        return k_deep
    if y == 0.0:
        raise InputError(
            "depth=%r with period=%r is outside the floating-point range"
            % (depth, period)
        )
    return _solve_kh(y) / depth


def _shoaling_ratio(kh):
    """2kh / sinh(2kh), evaluated without overflow (-> 0 for deep water)."""
    x = 2.0 * kh
    if math.isinf(x):
        return 0.0
    if x > 40.0:
        # x / sinh(x) = 2 x e^-x / (1 - e^-2x); exp underflows gracefully.
        e = math.exp(-x)
        return 2.0 * x * e / (1.0 - e * e)
    return x / math.sinh(x)


def dispersion_row(depth, period, g=DEFAULT_G):
    """One output row (dict keyed by :data:`FIELDS`) for depth h and period T."""
    depth_f = _check_number(depth, "depth", allow_inf=True)
    period_f = _check_number(period, "period")
    g_f = _check_number(g, "g")
    k = wavenumber(period_f, depth_f, g_f)
    omega = 2.0 * math.pi / period_f
    kh = k * depth_f
    c = omega / k
    n = 0.5 * (1.0 + _shoaling_ratio(kh))
    return {
        "depth_m": depth_f,
        "period_s": period_f,
        "wavenumber_rad_m": k,
        "wavelength_m": 2.0 * math.pi / k,
        "phase_speed_m_s": c,
        "group_speed_m_s": n * c,
        "kh": kh,
    }


def _as_list(cfg, key):
    if key not in cfg:
        raise InputError("missing required key %r" % key)
    value = cfg[key]
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InputError("%r must not be empty" % key)
    return values


def _load_config(path):
    try:
        with open(path, "r", encoding="utf-8") as fh:
            cfg = json.load(fh)
    except FileNotFoundError:
        raise InputError("input file not found: %s" % path)
    except IsADirectoryError:
        raise InputError("input path is a directory: %s" % path)
    except UnicodeDecodeError as exc:
        raise InputError("cannot decode %s as UTF-8: %s" % (path, exc))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise InputError("invalid JSON in %s: %s" % (path, exc))
    except OSError as exc:
        raise InputError("cannot read %s: %s" % (path, exc.strerror or exc))
    if not isinstance(cfg, dict):
        raise InputError("input must be a JSON object, got %s" % type(cfg).__name__)

    depths = [
        _check_number(v, "depth", allow_inf=True) for v in _as_list(cfg, "depths")
    ]
    periods = [_check_number(v, "period") for v in _as_list(cfg, "periods")]
    g = _check_number(cfg.get("g", DEFAULT_G), "g")
    output = cfg.get("output", DEFAULT_OUTPUT)
    if output is None:
        output = DEFAULT_OUTPUT
    if not isinstance(output, str) or not output.strip():
        raise InputError("output must be a non-empty string path, got %r" % (output,))
    return depths, periods, g, output


def _fmt(x):
    return "%.6g" % x


def _write_csv(rows, output):
    parent = os.path.dirname(output)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([repr(float(row[name])) for name in FIELDS])


def _usage():
    return "usage: python3 wave_dispersion.py INPUT.json"


def _run(argv):
    if argv and argv[0] in ("-h", "--help"):
        print(_usage())
        print(__doc__.split("\n\n")[0])
        return 0
    if len(argv) != 1:
        raise InputError(
            "expected exactly one argument (the JSON input file); %s" % _usage()
        )
    depths, periods, g, output = _load_config(argv[0])
    rows = []
    for h in depths:
        for T in periods:
            row = dispersion_row(h, T, g)
            rows.append(row)
            print(
                "h=%s m T=%s s: L=%s m c=%s m/s cg=%s m/s"
                % (
                    _fmt(h),
                    _fmt(T),
                    _fmt(row["wavelength_m"]),
                    _fmt(row["phase_speed_m_s"]),
                    _fmt(row["group_speed_m_s"]),
                )
            )
    _write_csv(rows, output)
    print("wrote %d rows to %s" % (len(rows), output))
    sys.stdout.flush()
    return 0


def _error(message, code):
    message = " ".join(str(message).split())  # keep it to one line
    sys.stderr.write("%s: error: %s\n" % (PROG, message))
    sys.stderr.flush()
    return code


def main(argv=None):
    """Command-line entry point; returns the process exit status."""
    if argv is None:
        argv = sys.argv[1:]
    try:
        return _run(list(argv))
    except InputError as exc:
        return _error(exc, 2)
    except ConvergenceError as exc:
        return _error(exc, 1)
    except OSError as exc:
        return _error("cannot write output: %s" % exc, 1)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except Exception as exc:  # last resort: never show a traceback
        return _error("unexpected %s: %s" % (type(exc).__name__, exc), 1)


if __name__ == "__main__":
    sys.exit(main())
