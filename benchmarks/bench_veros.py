"""What rompy adds to a real ocean model run: Veros acc for 10 model days, through rompy and by hand.

By hand: `veros run acc.py -s runlen 864000` in a folder holding the setup, as Veros's docs
have it. Through rompy: `python -m rompy model=veros_acc period.duration=10d
period.interval=10d` (snapshots every 10 days, as the setup itself writes them; the default
postprocessor, which does nothing). Both run with OMP_NUM_THREADS=1, which rompy's local
backend sets, so both do the same numerics; rounds are interleaved and alternate which goes
first, and the figure is the median of the paired differences (target <= 0.3 s).

Needs rompy-veros installed (bash scripts/install.sh). Usage: python benchmarks/bench_veros.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "ROMPY_CONFIG_PATH")},
       "OMP_NUM_THREADS": "1"}


def veros_command() -> list[str]:
    """`veros` as a user runs it: the console script beside this Python, else the same entry point through it."""
    script = Path(sys.executable).with_name("veros")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from veros.cli.veros import cli; cli()"]


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds (default 7)")
    args = parser.parse_args()

    from rompy_veros.setups import find_setup

    setup = find_setup("acc") / "acc.py"
    root = Path(tempfile.mkdtemp(prefix="bench-veros-"))
    veros = veros_command()
    rompy = [sys.executable, "-m", "rompy", "model=veros_acc", "period.duration=10d", "period.interval=10d"]
    hand_walls, rompy_walls, differences = [], [], []
    try:
        for round_ in range(args.repeat + 1):  # round 0 warms the caches and is not counted
            hand_dir = root / f"hand{round_}"
            hand_dir.mkdir()
            shutil.copy(setup, hand_dir)
            runs = [("hand", lambda: timed([*veros, "run", "acc.py", "-s", "runlen", "864000"], hand_dir)),
                    ("rompy", lambda: timed([*rompy, f"run_id=r{round_}"], root))]
            walls = dict((name, run()) for name, run in (runs if round_ % 2 else runs[::-1]))
            if round_:
                hand_walls.append(walls["hand"])
                rompy_walls.append(walls["rompy"])
                differences.append(walls["rompy"] - walls["hand"])
                print(f"round {round_}: by hand {walls['hand']:.2f} s, rompy {walls['rompy']:.2f} s, "
                      f"difference {differences[-1]:+.3f} s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    quartiles = statistics.quantiles(differences, n=4) if len(differences) > 1 else differences * 3
    print(f"\nVeros acc, 10 model days, {args.repeat} rounds (load average {os.getloadavg()[0]:.2f}):")
    print(f"  veros run by hand     median {statistics.median(hand_walls):.2f} s")
    print(f"  rompy model=veros_acc median {statistics.median(rompy_walls):.2f} s")
    print(f"  rompy - by hand       median {statistics.median(differences):+.3f} s "
          f"(quartiles {quartiles[0]:+.3f} .. {quartiles[2]:+.3f}); target <= 0.3 s")


if __name__ == "__main__":
    main()
