"""What each start-up measure of the CLI saves: a dry run with all of them, and with each one turned off.

The measures (rompy.cli.app and rompy.cli.compose):
  single compose   a plain run composes once (where @hydra.main composes twice)
  in-place job     the task gets the composed config itself (where run_job makes four copies)
  collector        the garbage collector is paused while rompy starts, start-up's objects are
                   frozen, and the heap is frozen before the interpreter's shutdown collections

Each variant runs the same `python -m rompy dry_run=true` through a small driver that turns one
measure off by replacing the function that implements it; the rounds are interleaved and each
variant's cost is the median over rounds of (variant - all measures on).

Usage: python benchmarks/bench_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

DRIVER = """
import sys
variant = sys.argv[1]
if variant == "no single compose":
    import rompy.cli.compose as compose
    compose.try_single_run = lambda *args, **kwargs: False
elif variant == "no in-place job":
    import rompy.cli.compose as compose
    from rompy._hydra import run_job_with_callbacks

    def try_single_run(argv, conf_dir, config_name, task):  # composes once, then Hydra's own run_job
        from rompy._hydra import parse_command_line
        args, _ = parse_command_line(argv)
        app, cfg = compose._compose(args, conf_dir, config_name)
        from hydra.types import RunMode
        from omegaconf import open_dict, read_write
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.RUN
        run_job_with_callbacks(app, cfg, task)
        return True
    compose.try_single_run = try_single_run
elif variant == "no collector measures":
    import contextlib
    import rompy.cli.app as app_module

    @contextlib.contextmanager
    def untouched(keep_frozen=False):
        yield lambda: None
    app_module._collector_paused = untouched
    app_module.gc.freeze = lambda: None
from rompy.cli import main
main(sys.argv[2:])
"""

VARIANTS = ["all measures on", "no single compose", "no in-place job", "no collector measures"]


def _wall(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        driver = work / "driver.py"
        driver.write_text(DRIVER)
        commands = {v: [sys.executable, str(driver), v, "dry_run=true"] for v in VARIANTS}
        for cmd in commands.values():  # warm caches, and check every variant runs
            _wall(cmd, work)
        walls: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(args.repeat):
            for variant, cmd in commands.items():
                walls[variant].append(_wall(cmd, work))
    base = walls["all measures on"]
    print(f"dry run, all measures on     : {statistics.median(base) * 1000:7.1f} ms (median of {args.repeat})")
    for variant in VARIANTS[1:]:
        saved = statistics.median((v - b) * 1000 for v, b in zip(walls[variant], base))
        print(f"{variant:29}: {statistics.median(walls[variant]) * 1000:7.1f} ms  -> the measure saves {saved:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
