"""What rompy adds to a real ocean model run: Veros acc for 10 model days, through rompy and by hand.

By hand: `veros run acc.py -s runlen 864000` in a folder holding the setup, as Veros's docs
have it. Through rompy: `python -m rompy model=veros_acc period.duration=10d
period.interval=10d` (snapshots every 10 days, as the setup itself writes them; the default
postprocessor, which does nothing). Both run with OMP_NUM_THREADS=1, which rompy's local
backend sets, so both do the same numerics; rounds are interleaved and alternate which goes
first, and the figure is the median of the paired differences (target <= 0.3 s). CPU seconds
(user + system, the whole process tree) are printed beside wall seconds: on a busy machine
they move far less. The difference splits in two: rompy's own time before and after the model
(its wall time less the model's duration in the run record), and the model under rompy against
the model by hand.

Needs rompy-veros installed (bash scripts/install.sh). Usage: python benchmarks/bench_veros.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "ROMPY_CONFIG_PATH")},
       "OMP_NUM_THREADS": "1",
       # as in an activated environment: the model's `python3` is this Python
       "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def veros_command() -> list[str]:
    """`veros` as a user runs it: the console script beside this Python, else the same entry point through it."""
    script = Path(sys.executable).with_name("veros")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from veros.cli.veros import cli; cli()"]


def timed(argv: list[str], cwd: Path) -> tuple[float, float, float, float]:
    """Wall and CPU seconds (user + system of the process and its children) of one command, and when it
    started and ended (Unix time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, start = time.time(), time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), started, started + wall


def _unix(stamp: str) -> float:
    """Unix time of a record's UTC time stamp (2026-12-01T07:17:21.135015Z)."""
    from datetime import datetime, timezone

    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def _summary(name: str, values: list[float]) -> str:
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return (f"  {name:24} median {statistics.median(values):+.3f} s "
            f"(quartiles {quartiles[0]:+.3f} .. {quartiles[2]:+.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds (default 7)")
    args = parser.parse_args()

    from rompy_veros.setups import find_setup

    setup = find_setup("acc") / "acc.py"
    root = Path(tempfile.mkdtemp(prefix="bench-veros-"))
    veros = veros_command()
    rompy = [sys.executable, "-m", "rompy", "model=veros_acc", "period.duration=10d", "period.interval=10d"]
    figures: dict[str, list[float]] = {name: [] for name in ("hand", "rompy", "wall", "cpu", "before", "after", "model")}
    try:
        for round_ in range(args.repeat + 1):  # round 0 warms the caches and is not counted
            hand_dir = root / f"hand{round_}"
            hand_dir.mkdir()
            shutil.copy(setup, hand_dir)
            runs = [("hand", lambda: timed([*veros, "run", "acc.py", "-s", "runlen", "864000"], hand_dir)),
                    ("rompy", lambda: timed([*rompy, f"run_id=r{round_}"], root))]
            took = dict((name, run()) for name, run in (runs if round_ % 2 else runs[::-1]))
            if not round_:
                continue
            figures["hand"].append(took["hand"][0])
            figures["rompy"].append(took["rompy"][0])
            figures["wall"].append(took["rompy"][0] - took["hand"][0])
            figures["cpu"].append(took["rompy"][1] - took["hand"][1])
            record = json.loads((root / "output" / f"r{round_}" / "rompy-result.json").read_text())
            model = record["backend"]
            figures["before"].append(_unix(model["started_at"]) - took["rompy"][2])
            figures["after"].append(took["rompy"][3] - _unix(model["finished_at"]))
            figures["model"].append(model["duration_s"] - took["hand"][0])
            print(f"round {round_}: by hand {took['hand'][0]:.2f} s (CPU {took['hand'][1]:.2f} s), "
                  f"rompy {took['rompy'][0]:.2f} s (CPU {took['rompy'][1]:.2f} s)", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nVeros acc, 10 model days, {args.repeat} rounds (load average {os.getloadavg()[0]:.2f}):")
    print(f"  veros run by hand        median {statistics.median(figures['hand']):.2f} s")
    print(f"  rompy model=veros_acc    median {statistics.median(figures['rompy']):.2f} s")
    print(_summary("rompy - by hand, wall", figures["wall"]) + "; target <= 0.3 s")
    print(_summary("rompy - by hand, CPU", figures["cpu"]))
    print(_summary("  rompy before the model", figures["before"]))
    print(_summary("  rompy after the model", figures["after"]))
    print(_summary("  model in rompy - by hand", figures["model"]))


if __name__ == "__main__":
    main()
