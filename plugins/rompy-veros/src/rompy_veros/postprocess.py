"""VerosSummaryConfig: a plot and the headline numbers of a Veros run, from its NetCDF snapshot.

Reads outputs/<identifier>.snapshot.nc with xarray (h5netcdf or netCDF4) and writes
outputs/veros_summary.json and outputs/veros_summary.png (matplotlib): the barotropic
streamfunction and the meridional overturning at the last snapshot. The headline numbers go
under `metrics` in what it returns, so the run record and sweep summaries carry them:

  transport_sv        channel transport (Sv): the barotropic streamfunction on the southern
                      coast minus that on the northern one, zonally averaged
  mean_ke_j_per_kg    kinetic energy per unit mass, ½(u² + v²), averaged over the ocean volume
  max_overturning_sv  strongest meridional overturning cell (Sv), from v integrated zonally
  model_days          model time of the last snapshot
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from rompy.postprocess.base import PostprocessorConfig

SUMMARY = "veros_summary"


class VerosSummaryConfig(PostprocessorConfig):
    """Plot a Veros run and write its headline numbers into outputs/."""

    type: Literal["veros_summary"] = "veros_summary"
    plot: bool = Field(True, description="Write outputs/veros_summary.png (matplotlib) besides the numbers.")

    def process(self, model_run, **kwargs) -> dict[str, Any]:
        from rompy.runtime.files import write_json_atomic

        outputs = Path(model_run.outputs_dir)
        snapshots = sorted(outputs.glob("*.snapshot.nc"))
        if not snapshots:
            return {"success": False, "message": f"no Veros snapshot (*.snapshot.nc) in {outputs}: did Veros run?"}
        import xarray as xr

        with xr.open_dataset(snapshots[0]) as snapshot:
            numbers = headline_numbers(snapshot)
            files = [outputs / f"{SUMMARY}.json"]
            if self.plot:
                files.append(plot(snapshot, outputs / f"{SUMMARY}.png", f"Veros {numbers['setup'] or snapshots[0].stem}"))
        write_json_atomic(files[0], {"snapshot": snapshots[0].name, **numbers})
        metrics = {name: numbers[name] for name in ("transport_sv", "mean_ke_j_per_kg", "max_overturning_sv",
                                                     "model_days")}
        finite = all(math.isfinite(value) for value in metrics.values())
        message = (f"day {numbers['model_days']:g}: channel transport {numbers['transport_sv']:.2f} Sv, "
                   f"mean kinetic energy {numbers['mean_ke_j_per_kg']:.3g} J/kg")
        return {"success": finite, "message": message if finite else f"not finite: {message}",
                "files": [str(path) for path in files], "data": numbers, "metrics": metrics}


def _last(snapshot, name: str):
    """A field at the last snapshot."""
    field = snapshot[name]
    return field.isel(Time=-1) if "Time" in field.dims else field


def transport(snapshot) -> "Any":
    """Channel transport in Sv at every snapshot: southern-coast minus northern-coast streamfunction."""
    psi = snapshot["psi"]
    south, north = psi.isel(yu=0).mean("xu"), psi.isel(yu=-1).mean("xu")
    return (south - north) / 1e6


def kinetic_energy(snapshot) -> "Any":
    """Volume-mean ½(u² + v²) in J/kg at every snapshot; each cell takes the u of its eastern face and the v of
    its northern one (Veros's C grid), land counts as zero velocity and no volume."""
    u = snapshot["u"].fillna(0.0).rename(xu="xt").assign_coords(xt=snapshot["xt"])
    v = snapshot["v"].fillna(0.0).rename(yu="yt").assign_coords(yt=snapshot["yt"])
    volume = (snapshot["area_t"] * snapshot["dzt"]).where(_last(snapshot, "temp").notnull(), 0.0)
    energy = 0.5 * (u ** 2 + v ** 2)
    return (energy * volume).sum(("xt", "yt", "zt")) / volume.sum()


def overturning(snapshot) -> "Any":
    """Meridional overturning streamfunction (Sv) of the last snapshot: v integrated zonally, then up from the
    bottom."""
    import numpy as np

    v = _last(snapshot, "v").fillna(0.0)
    width = snapshot["dxt"]
    if _settings(snapshot).get("coord_degree"):
        width = width * np.cos(np.deg2rad(snapshot["yu"]))
    return ((v * width).sum("xt") * snapshot["dzt"]).cumsum("zt") / 1e6


def headline_numbers(snapshot) -> dict[str, Any]:
    """The numbers veros_summary.json holds: the last snapshot's, and transport and energy at every snapshot."""
    series_t, series_ke = transport(snapshot), kinetic_energy(snapshot)
    days = [float(day) for day in snapshot["Time"].values]
    return {
        "setup": snapshot.attrs.get("setup_identifier"),
        "model_days": days[-1],
        "transport_sv": float(series_t.isel(Time=-1)),
        "mean_ke_j_per_kg": float(series_ke.isel(Time=-1)),
        "max_overturning_sv": float(abs(overturning(snapshot)).max()),
        "series": {"model_days": days, "transport_sv": [float(x) for x in series_t.values],
                   "mean_ke_j_per_kg": [float(x) for x in series_ke.values]},
    }


def _settings(snapshot) -> dict[str, Any]:
    """The run's Veros settings, which Veros writes into every output file."""
    import json

    return json.loads(snapshot.attrs.get("setup_settings") or "{}")


def plot(snapshot, target: Path, title: str) -> Path:
    """Two panels at the last snapshot: the barotropic streamfunction map and the overturning section, in Sv."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    psi = _last(snapshot, "psi").transpose("yu", "xu") / 1e6
    moc = overturning(snapshot).transpose("zt", "yu")
    strongest = float(abs(moc).max()) or 1.0
    day = float(snapshot["Time"].values[-1])
    figure = Figure(figsize=(9, 3.8), dpi=80, layout="constrained")
    left, right = figure.subplots(1, 2)
    shaded = left.contourf(psi["xu"], psi["yu"], psi.values, levels=16, cmap="viridis")
    figure.colorbar(shaded, ax=left, label="Sv")
    left.set(title="barotropic streamfunction", xlabel="longitude (°E)", ylabel="latitude (°N)")
    levels = MaxNLocator(16, symmetric=True).tick_values(-strongest, strongest)
    shaded = right.contourf(moc["yu"], -snapshot["zt"], moc.values, levels=levels, cmap="RdBu_r")
    figure.colorbar(shaded, ax=right, label="Sv")
    right.set(title="meridional overturning", xlabel="latitude (°N)", ylabel="depth (m)")
    right.invert_yaxis()
    figure.suptitle(f"{title}, day {day:g}: channel transport {float(transport(snapshot).isel(Time=-1)):.1f} Sv")
    figure.savefig(target)
    return target
