"""What does rompy add on top of Docker for one container run?

In one process, alternating, N times each:
  A = wall time of `python -m rompy backend=docker backend.image=<image> 'backend.command="true"'`
  B = wall time of the same command line with dry_run=true (Python start, Hydra,
      validation, engine connection and image check: everything but the run)
  C = wall time of `docker run --rm <image> true` (the Docker CLI doing the same job)
and prints median(A) - median(B), the container part of a rompy run, against
median(C). Target: ratio <= 1.0, i.e. rompy's create/attach/start/wait/remove
plus its run directory and record cost no more than the Docker CLI's own run.
The three are interleaved so that a busy machine slows all of them alike; the
paired ratio (per repetition) is printed too, as A - B is a difference of two
noisy figures.

    python benchmarks/bench_docker.py [--image rompy-test-busybox:latest] [-n 21]

With fewer than ~20 repetitions the ratio scatters by +-0.15 on a 2-core machine: A - B
subtracts two Python start-ups of ~0.4 s each to isolate ~0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid


def _timed(argv: list[str], cwd: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench_docker: {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="rompy-test-busybox:latest")
    parser.add_argument("-n", type=int, default=21, help="repetitions of each measurement")
    args = parser.parse_args()

    rompy = [sys.executable, "-m", "rompy", "backend=docker", f"backend.image={args.image}",
             "backend.command='true'", "backend.pull_policy=never"]
    docker_cli = ["docker", "run", "--rm", args.image, "true"]
    runs, dry, cli = [], [], []
    env_note = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    with tempfile.TemporaryDirectory(prefix="rompy-bench-docker-") as work:
        out = os.path.join(work, "output")
        _timed(docker_cli, work)  # warm the engine and the page cache once
        _timed([*rompy, f"output_dir={out}", "dry_run=true"], work)
        for _ in range(args.n):
            run_id = f"bench-{uuid.uuid4().hex[:8]}"
            runs.append(_timed([*rompy, f"output_dir={out}", f"run_id={run_id}"], work))
            dry.append(_timed([*rompy, f"output_dir={out}", "dry_run=true"], work))
            cli.append(_timed(docker_cli, work))
    a, b, c = (statistics.median(x) for x in (runs, dry, cli))
    overhead = a - b
    print(f"engine: {env_note}   image: {args.image}   repetitions: {args.n}")
    print(f"rompy docker run of 'true'   median {a:.3f} s   (all: {', '.join(f'{x:.3f}' for x in runs)})")
    print(f"rompy dry run                median {b:.3f} s   (all: {', '.join(f'{x:.3f}' for x in dry)})")
    print(f"docker run --rm {args.image} true   median {c:.3f} s   (all: {', '.join(f'{x:.3f}' for x in cli)})")
    pairs = sorted((r - d) / k for r, d, k in zip(runs, dry, cli))
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else pairs * 3
    print(f"rompy run - dry run          {overhead:.3f} s")
    print(f"ratio (run - dry) / docker run = {overhead / c:.2f}  (target <= 1.0)")
    print(f"paired ratio, per repetition (run_i - dry_i) / docker_i: median {quartiles[1]:.2f}, "
          f"quartiles {quartiles[0]:.2f} / {quartiles[2]:.2f}")
    try:
        print(f"load average during the run: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} CPUs)")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
