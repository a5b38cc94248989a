"""Core speed figures, each against a baseline measured in the same run.

1. rompy dry run vs a minimal @hydra.main app with one config group (target ratio <= 1.1)
2. peak RSS of the rompy dry run (target <= 70 MB)
3. local run of 'true' minus the dry run (target <= 30 ms overhead)
4. `rompy --help` against Hydra's own `--hydra-help` (help must not import Hydra or the Docker SDK)

Every command runs with bytecode caching on (PYTHONDONTWRITEBYTECODE removed), as for an
installed package: without it, every rompy start recompiles rompy's modules (~0.15 s here).

Usage: python benchmarks/bench_core.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

MINIMAL_APP = textwrap.dedent("""\
    import hydra

    @hydra.main(version_base="1.3", config_path="conf", config_name="config")
    def main(cfg):
        print(cfg.db.driver)

    if __name__ == "__main__":
        main()
    """)


ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def _make_minimal_app(root: Path) -> Path:
    (root / "conf/db").mkdir(parents=True)
    (root / "conf/config.yaml").write_text("defaults:\n  - db: mysql\n  - _self_\n")
    (root / "conf/db/mysql.yaml").write_text("driver: mysql\nuser: omry\n")
    app = root / "app.py"
    app.write_text(MINIMAL_APP)
    return app


def _time(cmd: list[str], cwd: Path, repeat: int) -> float:
    """Median wall seconds of `cmd` over `repeat` runs."""
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{proc.stderr.decode()}")
    return statistics.median(walls)


def _paired(a: list[float], b: list[float], combine) -> float:
    """Median over rounds of combine(a_i, b_i)."""
    return statistics.median(combine(x, y) for x, y in zip(a, b))


def _peak_rss_mb(cmd: list[str], cwd: Path) -> float:
    """Peak RSS of one run of `cmd`, from wait4's rusage (KiB on Linux)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        app = _make_minimal_app(root / "minimal")
        work = root / "work"
        work.mkdir()
        hydra_cmd = [py, str(app), "hydra.run.dir=.", "hydra.output_subdir=null"]
        dry_cmd = [py, "-m", "rompy", "dry_run=true"]
        # Warm the page cache and .pyc files once.
        _time(hydra_cmd, app.parent, 2)
        _time(dry_cmd, work, 2)
        # Interleaved (A, B, C, A, B, C, ...) so that drift in machine load hits every figure alike.
        walls: dict[str, list[float]] = {"minimal": [], "dry": [], "true": []}
        for i in range(args.repeat):
            walls["minimal"].append(_time(hydra_cmd, app.parent, 1))
            walls["dry"].append(_time(dry_cmd, work, 1))
            walls["true"].append(_time([py, "-m", "rompy", f"run_id=bench{i}", "backend.command='true'"], work, 1))
        minimal, dry = statistics.median(walls["minimal"]), statistics.median(walls["dry"])
        local = statistics.median(walls["true"])
        # Ratios and differences are taken within each round, then the median: run-to-run drift on a
        # shared machine (+-20 % here) cancels inside a round instead of swamping a 30 ms difference.
        ratio = _paired(walls["dry"], walls["minimal"], lambda a, b: a / b)
        overhead_ms = _paired(walls["true"], walls["dry"], lambda a, b: (a - b) * 1000)
        bare = _time([py, "-c", "pass"], work, args.repeat)
        help_ours = _time([py, "-m", "rompy", "--help"], work, args.repeat)
        help_hydra = _time([py, "-m", "rompy", "--hydra-help"], work, args.repeat)
        rss = max(_peak_rss_mb(dry_cmd, work) for _ in range(3))
        rss_minimal = max(_peak_rss_mb(hydra_cmd, app.parent) for _ in range(3))
    print(f"minimal @hydra.main app      : {minimal * 1000:8.1f} ms (median of {args.repeat})")
    print(f"rompy dry run                : {dry * 1000:8.1f} ms")
    print(f"  ratio dry run / minimal    : {ratio:8.3f}   (target <= 1.10; median of per-round ratios)")
    print(f"peak RSS rompy dry run       : {rss:8.1f} MB  (target <= 70; minimal app {rss_minimal:.1f} MB)")
    print(f"rompy local run of 'true'    : {local * 1000:8.1f} ms")
    print(f"  overhead over the dry run  : {overhead_ms:8.1f} ms (target <= 30)")
    print(f"rompy --help                 : {help_ours * 1000:8.1f} ms (python -c pass {bare * 1000:.1f} ms)")
    print(f"  vs Hydra's --hydra-help    : {(help_ours - bare) / max(help_hydra - bare, 1e-9):8.3f} "
          f"(startup-corrected ratio; {help_hydra * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
