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

A sweep member pays no start-up, so it is measured apart, with the start-up taken out by
difference rather than estimated: each round runs a sequential sweep of 2 members of `true`, one
of 2 + M, and M `docker run --rm` (M = --sweep-members); (wall(2 + M) - wall(2)) / M is a member's
cost, against the median CLI run of the same round. `--sweep-rounds 0` skips this part.
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
    parser.add_argument("--sweep-members", type=int, default=20, help="M: members that the longer sweep adds")
    parser.add_argument("--sweep-rounds", type=int, default=5, help="rounds of the sweep-member measurement")
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
    if args.sweep_rounds > 0:
        _sweep_members(rompy, docker_cli, args.sweep_members, args.sweep_rounds)
    try:
        print(f"load average during the run: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} CPUs)")
    except OSError:
        pass
    return 0


def _sweep_members(rompy: list[str], docker_cli: list[str], members: int, rounds: int) -> None:
    """A sequential sweep's cost per Docker member against one `docker run --rm`, round by round."""
    python_m_rompy, overrides = rompy[:3], rompy[3:]

    def sweep(count: int, work: str) -> float:
        return _timed([*python_m_rompy, "-m", *overrides, f"output_dir={os.path.join(work, 'output')}",
                       f"+backend.env_vars.BENCH_MEMBER=range(0,{count})"], work)

    ratios, per_member, per_cli = [], [], []
    with tempfile.TemporaryDirectory(prefix="rompy-bench-docker-sweep-") as work:
        sweep(2, work)  # warm
        for _ in range(rounds):
            short, long = sweep(2, work), sweep(2 + members, work)
            cli = statistics.median(_timed(docker_cli, work) for _ in range(members))
            member = (long - short) / members
            per_member.append(member)
            per_cli.append(cli)
            ratios.append(member / cli)
    print(f"sweep member ({members} more members of a sequential sweep, {rounds} rounds): "
          f"{', '.join(f'{x:.3f}' for x in per_member)} s")
    print(f"docker run --rm, median of {members} per round: {', '.join(f'{x:.3f}' for x in per_cli)} s")
    print(f"ratio sweep member / docker run, per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"median {statistics.median(ratios):.2f}  (target <= 1.0)")


if __name__ == "__main__":
    sys.exit(main())
