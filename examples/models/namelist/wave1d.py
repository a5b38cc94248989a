#!/usr/bin/env python3
"""wave1d: a stand-in for a compiled ocean model (SWAN, WAVEWATCH III, SCHISM read files like this).

Reads a Fortran namelist (`&grid ... /`, `&time ... /`, `&physics ... /`) and a depth
profile, steps a long wave across the domain at the shallow-water speed sqrt(g h), slowed by
friction, and writes the front's position at every output time to outputs/front.csv.
Standard library only, like the program it stands in for: it knows nothing of rompy.
"""

import math
import re
import sys
from pathlib import Path


def read_namelist(path):
    groups, text = {}, Path(path).read_text()
    for name, body in re.findall(r"^\s*&(\w+)(.*?)^\s*/\s*$", text, flags=re.S | re.M):
        values = {}
        for key, value in re.findall(r"(\w+)\s*=\s*('[^']*'|[^,\n]+)", body):
            value = value.strip()
            values[key.lower()] = value.strip("'") if value.startswith("'") else float(value)
        groups[name.lower()] = values
    return groups


def main(namelist):
    nml = read_namelist(namelist)
    grid, time, physics = nml["grid"], nml["time"], nml["physics"]
    depths = [float(x) for x in Path(grid["depth_file"]).read_text().split()]
    dx = grid["length_m"] / len(depths)
    steps, dt = int(time["nsteps"]), time["dt_s"]
    position, rows = 0.0, ["step,time_s,front_m,depth_m"]
    for step in range(steps + 1):
        cell = min(int(position / dx), len(depths) - 1)
        rows.append(f"{step},{step * dt:.1f},{position:.1f},{depths[cell]:.1f}")
        speed = math.sqrt(physics["g"] * depths[cell]) * (1.0 - physics["friction"]) ** step
        position = min(position + speed * dt, grid["length_m"])
    Path("outputs").mkdir(exist_ok=True)
    Path("outputs/front.csv").write_text("\n".join(rows) + "\n")
    print(f"wave1d {time['run_id']}: front at {position:.0f} m after {steps} steps of {dt:g} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "model.nml")
