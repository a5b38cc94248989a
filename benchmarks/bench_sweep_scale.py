"""Sweeps at ensemble scale, each figure against a baseline measured in the same run.

1. Parallel against sequential: N members of `'true'` (default 1,000) with
   hydra/launcher=parallel and with the sequential launcher, interleaved.
   Target: parallel wall time <= 0.6 x sequential.
2. Sequential sweeps stay flat: a sweep of SMALL members (default 100) against one of
   LARGE members (default 10,000):
   - peak RSS of the rompy process (wait4's rusage of that process alone): LARGE / SMALL <= 1.2;
   - per-member overhead, (wall LARGE - wall SMALL) / (LARGE - SMALL): <= 10 ms;
   - results.jsonl appends stay O(1): the mean time between members' ends in the last tenth
     of the large sweep over that in its first tenth (from results.jsonl): about 1.

CPU seconds (the command and everything it waited for) are printed beside wall times:
on a machine other work shares, they move far less than wall times do. The pair's wall
time is also split, from results.jsonl, into the start both launchers share (the command
up to its first member: Python, Hydra and the whole-sweep check) and the members' span.

Every sweep's files stay on disk until the end: ext4 without a journal avoids reusing
inodes freed in the last minutes, so deleting one sweep's thousands of run directories
would make the next sweep's file creations pay for the deletion (a deletion by anything
else shortly before the benchmark does the same; --work-dir on another file system
tells the two costs apart). The time to create a file in the work folder is measured
before and after the sweeps, beside a pure-Python loop: the two say whether a slow run
had a slow processor or a slow file system.

    python benchmarks/bench_sweep_scale.py [--members 1000] [--small 100] [--large 10000] [--repeat 5]
                                           [--skip-flat | --skip-pair] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path


def run_sweep(work: Path, tag: str, members: int, *extra: str) -> dict:
    """One sweep of `'true'` members; wall and CPU seconds, peak RSS of the rompy process."""
    sweep_dir, output = work / tag / "sweep", work / tag / "out"
    argv = [sys.executable, "-m", "rompy", "-m", *extra, "backend.command='true'",
            f"+backend.env_vars.M=range(0,{members})", f"hydra.sweep.dir={sweep_dir}",
            f"output_dir={output}", "sweep.progress=off"]
    launched_at, t0 = time.time(), time.perf_counter()
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark sweep failed ({proc.returncode}): {' '.join(extra)}\n"
                         f"{stderr.decode(errors='replace')[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "sweep_dir": sweep_dir, "output": output, "launched_at": launched_at}


def member_times(sweep_dir: Path, field: str) -> list[float]:
    """Each member's `field` (started_at, finished_at) from results.jsonl, as sorted timestamps."""
    with open(sweep_dir / "results.jsonl", encoding="utf-8") as fh:
        return sorted(datetime.fromisoformat(json.loads(line)[field]).timestamp() for line in fh)


def phases(run: dict) -> tuple[float, float]:
    """(seconds from the command to its first member's start, seconds from then to the last member's end)."""
    first = member_times(run["sweep_dir"], "started_at")[0]
    last = member_times(run["sweep_dir"], "finished_at")[-1]
    return first - run["launched_at"], last - first


def append_drift(times: list[float]) -> float:
    """Mean gap between ends in the last tenth over that in the first tenth."""
    tenth = max(2, len(times) // 10)
    first, last = times[:tenth], times[-tenth:]
    return ((last[-1] - last[0]) / (len(last) - 1)) / ((first[-1] - first[0]) / (len(first) - 1))


def parallel_vs_sequential(work: Path, members: int, repeat: int) -> dict:
    """Interleaved rounds of (sequential, parallel); best of each, and the median of the rounds' ratios."""
    best: dict[str, dict] = {}
    ratios = []
    for r in range(repeat):
        pair = {}
        for launcher in ("sequential", "parallel"):
            result = pair[launcher] = run_sweep(work, f"{launcher}-{r}", members, f"hydra/launcher={launcher}")
            if launcher not in best or result["wall_s"] < best[launcher]["wall_s"]:
                best[launcher] = result
        ratios.append(pair["parallel"]["wall_s"] / pair["sequential"]["wall_s"])
    return {"members": members, "sequential": best["sequential"], "parallel": best["parallel"],
            "ratio": best["parallel"]["wall_s"] / best["sequential"]["wall_s"],
            "paired_median": statistics.median(ratios), "ratios": ratios}


def flat_sequential(work: Path, small: int, large: int) -> dict:
    small_run = run_sweep(work, "small", small)
    large_run = run_sweep(work, "large", large)
    drift = append_drift(member_times(large_run["sweep_dir"], "finished_at"))
    return {"small": small, "large": large, "small_run": small_run, "large_run": large_run,
            "rss_ratio": large_run["rss_mb"] / small_run["rss_mb"],
            "per_member_s": (large_run["wall_s"] - small_run["wall_s"]) / (large - small),
            "cpu_per_member_s": (large_run["cpu_s"] - small_run["cpu_s"]) / (large - small),
            "append_drift": drift}


def reference_loop_ms() -> float:
    """A fixed pure-Python loop, best of three: how fast this machine is right now.

    The per-member overhead is an absolute figure, and a shared machine's speed moves by 2x from
    one minute to the next; this says which kind of minute a run had.
    """
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def file_creation_us(folder: Path, files: int = 200) -> float:
    """Microseconds to create an empty file in `folder`, best of three rounds in new subfolders.

    A member creates a dozen files and folders. ext4 without a journal skips the inodes freed
    in the last minutes when it allocates one, so after a large deletion every creation costs
    more for a while; this says which kind of minute the disk had. The files stay until the end.
    """
    best = float("inf")
    for _ in range(3):
        probe = Path(tempfile.mkdtemp(prefix="probe-", dir=folder))
        t0 = time.perf_counter()
        for i in range(files):
            os.close(os.open(probe / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        best = min(best, time.perf_counter() - t0)
    return best / files * 1e6


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report_pair(pair: dict, args) -> None:
    seq, par = pair["sequential"], pair["parallel"]
    print(f"\n1. {args.members} members of 'true', {args.repeat} interleaved rounds")
    print(f"   sequential: {seq['wall_s']:7.2f} s wall, {seq['cpu_s']:6.2f} s CPU "
          f"({seq['wall_s'] / args.members * 1000:.1f} ms/member)")
    print(f"   parallel  : {par['wall_s']:7.2f} s wall, {par['cpu_s']:6.2f} s CPU")
    print(f"   parallel / sequential, best of each: {pair['ratio']:.2f}   "
          f"target <= 0.6: {verdict(pair['ratio'] <= 0.6)}")
    (seq_start, seq_members), (par_start, par_members) = phases(seq), phases(par)
    print(f"   of which before the first member: sequential {seq_start:.2f} s, parallel {par_start:.2f} s; "
          f"the members: {seq_members:.2f} s and {par_members:.2f} s ({par_members / seq_members:.2f})")
    rounds = ", ".join(f"{r:.2f}" for r in pair["ratios"])
    print(f"   parallel / sequential, median of the rounds: {pair['paired_median']:.2f} ({rounds})   "
          f"target <= 0.6: {verdict(pair['paired_median'] <= 0.6)}")


def report_flat(flat: dict, args) -> None:
    print(f"\n2. sequential sweeps of {args.small} and {args.large} members of 'true'")
    for count, run in ((args.small, flat["small_run"]), (args.large, flat["large_run"])):
        print(f"   {count:>6} members: {run['wall_s']:8.2f} s wall, {run['cpu_s']:7.2f} s CPU, "
              f"peak RSS {run['rss_mb']:.1f} MB")
    print(f"   peak RSS ratio: {flat['rss_ratio']:.3f}   target <= 1.2: {verdict(flat['rss_ratio'] <= 1.2)}")
    print(f"   per-member overhead: {flat['per_member_s'] * 1000:.2f} ms wall, "
          f"{flat['cpu_per_member_s'] * 1000:.2f} ms CPU   target <= 10 ms: {verdict(flat['per_member_s'] <= 0.010)}")
    print(f"   gap between members, last tenth / first tenth: {flat['append_drift']:.2f}   (O(1) appends: about 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the parallel/sequential pair")
    parser.add_argument("--skip-flat", action="store_true", help="only the parallel/sequential pair")
    parser.add_argument("--skip-pair", action="store_true", help="only the sequential sweeps of SMALL and LARGE")
    parser.add_argument("--work-dir", default=None,
                        help="folder the sweeps write under (default: the system's temporary folder); the "
                             "file system is a large part of a member's cost, so name the one you will use")
    args = parser.parse_args()
    print(f"machine: {len(os.sched_getaffinity(0))} usable cores, load average {os.getloadavg()[0]:.2f}, "
          f"python {sys.version.split()[0]}")
    reference_before = reference_loop_ms()
    with tempfile.TemporaryDirectory(prefix="rompy-bench-scale-", dir=args.work_dir) as tmp:
        print(f"sweeps write under {tmp}")
        work = Path(tmp)
        creation_before = file_creation_us(work)
        if not args.skip_pair:
            report_pair(parallel_vs_sequential(work, args.members, args.repeat), args)
        if not args.skip_flat:
            report_flat(flat_sequential(work, args.small, args.large), args)
        creation_after = file_creation_us(work)
    print(f"\n   load average after: {os.getloadavg()[0]:.2f}")
    print(f"   machine speed: a pure-Python reference loop took {reference_before:.0f} ms before the sweeps, "
          f"{reference_loop_ms():.0f} ms after")
    print(f"   disk speed: creating a file in the work folder took {creation_before:.0f} us before the sweeps, "
          f"{creation_after:.0f} us after")


if __name__ == "__main__":
    main()
