"""Members packed into SLURM array tasks, against hydra-submitit-launcher in the same run.

The same sweep of N members of `'true'` (default 200) on the one-node test cluster, twice,
interleaved over --repeat rounds:

- rompy's slurm launcher with `hydra.launcher.members_per_task=PACK` (default 10: N/PACK
  array tasks, each running its members one after another in one Python);
- hydra-submitit-launcher (`hydra/launcher=submitit_slurm`): one array task, and one
  Python start, per member. This is the baseline.

Target: rompy packed <= 0.1 x the baseline's wall time. Both sweeps produce the same records,
results.jsonl and summary; the script checks every member succeeded in both.

Needs the one-node cluster up (`bash scripts/services/slurm.sh`).

    python benchmarks/bench_slurm_pack.py [--members 200] [--pack 10] [--repeat 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_sweep_scale  # benchmarks/ is on sys.path when a script here runs

LAUNCHERS = {
    "rompy slurm, packed": lambda pack: ["hydra/launcher=slurm", f"hydra.launcher.members_per_task={pack}",
                                         "hydra.launcher.name=bench-pack"],
    "hydra-submitit-launcher": lambda pack: ["hydra/launcher=submitit_slurm", "hydra.launcher.name=bench-submitit"],
}


def run_sweep(work: Path, tag: str, members: int, extra: list[str]) -> dict:
    """One sweep of `'true'` members (bench_sweep_scale's), checked: every member succeeded."""
    figures = bench_sweep_scale.run_sweep(work, tag, members, *extra)
    summary = json.loads((figures["sweep_dir"] / "summary.json").read_text())
    statuses = {m["status"] for m in summary["members"]}
    if len(summary["members"]) != members or statuses != {"succeeded"}:
        raise SystemExit(f"bench_slurm_pack: {tag}: {len(summary['members'])} members, statuses {statuses}")
    return figures


def cluster_answers() -> None:
    try:
        nodes = subprocess.run(["sinfo", "-h", "-o", "%D %t"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        nodes = None
    if nodes is None or nodes.returncode != 0:
        raise SystemExit("bench_slurm_pack: SLURM does not answer; start it with: bash scripts/services/slurm.sh")
    print(f"cluster: {nodes.stdout.strip()}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--pack", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    cluster_answers()
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    rounds: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-slurm-pack-", dir=Path.cwd()) as tmp:
        work = Path(tmp)  # on the filesystem the nodes share with this process
        for round_number in range(args.repeat):
            figures = {}
            for name, extra in LAUNCHERS.items():
                tag = f"{round_number}-{name.split()[0]}"
                figures[name] = run_sweep(work, tag, args.members, extra(args.pack))
                print(f"round {round_number + 1}: {name}: {figures[name]['wall_s']:.1f} s "
                      f"(rompy process CPU {figures[name]['cpu_s']:.1f} s)", file=sys.stderr)
            rounds.append(figures)
    packed, baseline = "rompy slurm, packed", "hydra-submitit-launcher"
    ratios = sorted(r[packed]["wall_s"] / r[baseline]["wall_s"] for r in rounds)
    ratio = ratios[len(ratios) // 2]
    print(f"{args.members} members of 'true' on the one-node cluster, {args.pack} members a task "
          f"({-(-args.members // args.pack)} tasks against {args.members}):")
    for name in LAUNCHERS:
        walls = ", ".join(f"{r[name]['wall_s']:.1f} s" for r in rounds)
        print(f"  {name:26s} {walls}")
    print(f"  ratio (median over rounds)  {ratio:.3f} x   target <= 0.1 x   "
          f"{'met' if ratio <= 0.1 else 'NOT met'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    if args.json:
        print(json.dumps({"members": args.members, "pack": args.pack, "rounds": rounds, "ratio": ratio}))


if __name__ == "__main__":
    main()
