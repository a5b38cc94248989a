"""Sweeps on the emulated many-node SLURM cluster, each against SLURM alone measured in the same run.

What a 10,000-member ensemble on 100 real nodes would cost rests on these figures (docs/slurm.md):

1. The same N tasks three ways, each an array throttled to --throttle tasks at a time: SLURM alone
   (`sbatch --array --wrap true`, polled with squeue every 0.2 s: the baseline), submitit's
   `map_array` of a no-op function waited on with `result()`, and a rompy sweep of `true` members on
   the slurm launcher with its default polling, packed --pack members a task. Wall times and their
   ratios to SLURM alone, and the CPU each task (for rompy: each member) took on its node
   (accounting's TotalCPU: on real nodes that, not this machine's two cores, bounds a member).
2. rompy's own memory and CPU: peak RSS of the sweep process at N members and at N/10, the slope per
   member, and its CPU seconds.
3. Files: what the submitit and rompy runs wrote, per member and per directory.
4. Submission: single `sbatch` calls per second, and one sbatch of a 1,000-task array against one job.
5. Polling: the `sacct` command submitit's watcher (and so rompy) issues each round, for one job
   (baseline) and for the finished arrays above, one more each time; the cost per 1,000 lines.

Needs the cluster up (`bash scripts/services/slurm-multinode.sh`); everything runs against it through
SLURM_CONF. The throttle keeps N Python processes from starting at once on a machine with 2 real cores.

    python benchmarks/bench_slurm_multinode.py [--members 200] [--throttle 32] [--pack 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "services" / "slurm-multinode.sh"


def noop(i: int) -> int:
    return i


def sh(*argv: str, timeout: float = 120) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"bench_slurm_multinode: {' '.join(argv)[:200]} failed: {proc.stderr.strip()[:500]}")
    return proc.stdout


def point_at_cluster() -> None:
    """Every SLURM command of this process and its children goes to the many-node cluster."""
    name, _, value = sh("bash", str(SCRIPT), "--env").strip().partition("=")
    os.environ[name] = value
    try:
        nodes = sh("sinfo", "-h", "-o", "%D %t", timeout=20).split()
    except (SystemExit, subprocess.TimeoutExpired):
        raise SystemExit("bench_slurm_multinode: the many-node cluster does not answer; "
                         "start it with: bash scripts/services/slurm-multinode.sh") from None
    print(f"cluster: {value} ({' '.join(nodes)})", file=sys.stderr)


def wait_gone(job_id: str, poll_s: float = 0.2) -> None:
    while sh("squeue", "-h", "-j", job_id, "-o", "%i").strip():
        time.sleep(poll_s)


def accounted(job_id: str, n: int, timeout: float = 120) -> list[str]:
    """NodeList of each of the array's n tasks, once accounting has all of them."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [line.split("|") for line in sh("sacct", "-n", "-X", "-P", "-o", "JobID,State,NodeList",
                                               "-j", job_id).splitlines()]
        done = [row[2] for row in rows if row[1] == "COMPLETED"]
        if len(done) >= n or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def slurm_alone(n: int, throttle: int) -> dict:
    t0 = time.perf_counter()
    job_id = sh("sbatch", "--parsable", "-J", "bench-true", "-a", f"0-{n - 1}%{throttle}", "-o", "/dev/null",
                "--wrap", "true").strip().split(";")[0]
    wait_gone(job_id)
    wall = time.perf_counter() - t0
    nodes = accounted(job_id, n)
    return {"wall_s": wall, "job_id": job_id, "distinct_nodes": len(set(nodes)), "tasks_accounted": len(nodes),
            "task_cpu_s": task_cpu_s(job_id, n)}


def unthrottled_true(n: int) -> dict:
    t0 = time.perf_counter()
    job_id = sh("sbatch", "--parsable", "-J", "bench-true", "-a", f"0-{n - 1}", "-o", "/dev/null",
                "--wrap", "true").strip().split(";")[0]
    wait_gone(job_id)
    wall = time.perf_counter() - t0
    nodes = accounted(job_id, n)
    return {"wall_s": wall, "job_id": job_id, "distinct_nodes": len(set(nodes))}


def task_cpu_s(job_id: str, n: int) -> float:
    """Median CPU seconds (user + system) of an array's tasks, from accounting: what a member costs a node's core,
    however many tasks shared this machine's two real cores at the time."""
    accounted(job_id, n)  # TotalCPU is filled in when a task's end reaches accounting
    values = []
    # Without -X: only then does a task's line add up its steps' CPU.
    for line in sh("sacct", "-n", "-P", "-o", "JobID,TotalCPU", "-j", job_id).splitlines():
        task, _, text = line.strip().partition("|")
        if not text or "." in task:
            continue
        minutes, _, seconds = text.rpartition(":")
        hours, _, minutes = minutes.rpartition(":")
        values.append(float(hours or 0) * 3600 + float(minutes or 0) * 60 + float(seconds))
    return statistics.median(values) if values else float("nan")


def files_under(folder: Path) -> dict:
    counts: dict[str, int] = {}
    for root, dirs, files in os.walk(folder):
        counts[root] = len(dirs) + len(files)
    total = sum(len(files) for _, _, files in os.walk(folder))
    return {"files": total, "largest_dir_entries": max(counts.values(), default=0)}


def submitit_map_array(n: int, throttle: int, work: Path) -> dict:
    import submitit

    folder = work / "submitit"
    executor = submitit.SlurmExecutor(folder=str(folder / "%j"), max_num_timeout=0)
    executor.update_parameters(time=10, cpus_per_task=1, array_parallelism=throttle, job_name="bench-submitit")
    t0 = time.perf_counter()
    jobs = executor.map_array(noop, list(range(n)))
    results = [job.result() for job in jobs]
    wall = time.perf_counter() - t0
    assert results == list(range(n))
    job_id = jobs[0].job_id.split("_")[0]
    return {"wall_s": wall, "job_id": job_id, "sacct_calls": jobs[0].watcher.num_calls,
            "task_cpu_s": task_cpu_s(job_id, n), **files_under(folder)}


def rompy_sweep(n: int, throttle: int, pack: int, work: Path, tag: str) -> dict:
    sweep, output = work / tag / "sweep", work / tag / "output"
    argv = [sys.executable, "-m", "rompy", "-m", "hydra/launcher=slurm", f"hydra.launcher.array_parallelism={throttle}",
            f"hydra.launcher.members_per_task={pack}", "hydra.launcher.name=bench-rompy", "backend.command='true'", f"+backend.env_vars.M=range(0,{n})",
            f"hydra.sweep.dir={sweep}", f"output_dir={output}", "sweep.progress=off"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench_slurm_multinode: the rompy sweep failed:\n{err[-2000:]}")
    summary = json.loads((sweep / "summary.json").read_text())
    job_ids = sorted({m["details"]["slurm_job_id"].split("_")[0] for m in summary["members"]})
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "job_ids": job_ids,
            "own_cpu_s": usage.ru_utime + usage.ru_stime, "tasks": math.ceil(n / pack),
            "task_cpu_s": task_cpu_s(job_ids[0], math.ceil(n / pack)) / pack,  # per member
            "distinct_nodes": len({m["details"]["host"] for m in summary["members"]}),
            "sweep_dir": files_under(sweep), "output_dir": files_under(output)}


def submission_rate(k: int = 20) -> dict:
    times, ids = [], []
    for _ in range(k):
        t0 = time.perf_counter()
        ids.append(sh("sbatch", "--parsable", "--hold", "-J", "bench-held", "-o", "/dev/null", "--wrap", "true")
                   .strip())
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ids.append(sh("sbatch", "--parsable", "--hold", "-J", "bench-held", "-a", "0-999", "-o", "/dev/null",
                  "--wrap", "true").strip())
    array = time.perf_counter() - t0
    sh("scancel", *ids)
    single = statistics.median(times)
    return {"single_s": single, "per_second": 1 / single, "array_1000_s": array, "array_over_single": array / single}


def sacct_poll(job_ids: list[str], repeat: int = 5) -> dict:
    """The command submitit's watcher runs each round for these (base) job ids: median time, lines back."""
    argv = ["sacct", "-o", "JobID,State,NodeList", "--parsable2"]
    for job_id in job_ids:
        argv += ["-j", job_id]
    times, lines = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        lines = len(sh(*argv).splitlines())
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--throttle", type=int, default=32)
    parser.add_argument("--pack", type=int, default=10, help="rompy's hydra.launcher.members_per_task")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n, throttle = args.members, args.throttle
    point_at_cluster()
    out: dict = {"members": n, "throttle": throttle, "pack": args.pack}
    with tempfile.TemporaryDirectory(prefix="bench-slurm-") as tmp:
        work = Path(tmp)
        out["slurm_alone"] = slurm_alone(n, throttle)
        out["submitit"] = submitit_map_array(n, throttle, work)
        out["rompy"] = rompy_sweep(n, throttle, args.pack, work, "rompy")
        out["rompy_small"] = rompy_sweep(max(1, n // 10), throttle, args.pack, work, "rompy-small")
        out["unthrottled_true"] = unthrottled_true(n)
    out["submission"] = submission_rate()
    single = sh("sbatch", "--parsable", "-J", "bench-one", "-o", "/dev/null", "--wrap", "true").strip()
    wait_gone(single)
    accounted(single, 1)
    arrays = [out["slurm_alone"]["job_id"], out["submitit"]["job_id"], out["rompy"]["job_ids"][0],
              out["unthrottled_true"]["job_id"], out["rompy_small"]["job_ids"][0]]
    out["sacct"] = {"one_job": sacct_poll([single])}
    for k in range(1, len(arrays) + 1):
        out["sacct"][f"{k}_arrays"] = sacct_poll(arrays[:k])
    points = [(v["lines"], v["median_s"]) for v in out["sacct"].values()]
    per_line = statistics.linear_regression([x for x, _ in points], [y for _, y in points]).slope

    base = out["slurm_alone"]["wall_s"]
    small = out["rompy_small"]
    slope = (out["rompy"]["peak_rss_mb"] - small["peak_rss_mb"]) / max(1, n - max(1, n // 10))
    out["ratios"] = {"submitit_to_slurm": out["submitit"]["wall_s"] / base,
                     "rompy_to_slurm": out["rompy"]["wall_s"] / base,
                     "rompy_to_submitit": out["rompy"]["wall_s"] / out["submitit"]["wall_s"],
                     "rss_mb_per_member": slope,
                     "sacct_all_arrays_to_one_job": out["sacct"][f"{len(arrays)}_arrays"]["median_s"]
                     / out["sacct"]["one_job"]["median_s"],
                     "sacct_ms_per_1000_lines": per_line * 1e6}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    r = out["ratios"]
    print(f"{n} tasks, at most {throttle} at a time:")
    print(f"  SLURM alone (array of true)   {base:7.1f} s  on {out['slurm_alone']['distinct_nodes']} nodes (baseline)")
    print(f"  submitit map_array + result() {out['submitit']['wall_s']:7.1f} s  {r['submitit_to_slurm']:5.1f} x  "
          f"({out['submitit']['sacct_calls']} sacct calls)")
    print(f"  rompy sweep, slurm launcher   {out['rompy']['wall_s']:7.1f} s  {r['rompy_to_slurm']:5.1f} x  "
          f"on {out['rompy']['distinct_nodes']} nodes ({r['rompy_to_submitit']:.2f} x submitit; "
          f"{args.pack} members a task, {out['rompy']['tasks']} tasks)")
    print(f"  CPU a task takes on its node (median): true {out['slurm_alone']['task_cpu_s']:.2f} s, submitit no-op "
          f"{out['submitit']['task_cpu_s']:.2f} s, rompy per member {out['rompy']['task_cpu_s']:.2f} s; "
          f"the rompy sweep process itself {out['rompy']['own_cpu_s']:.1f} s ({small['own_cpu_s']:.1f} s at "
          f"{max(1, n // 10)} members)")
    u = out["unthrottled_true"]
    print(f"  array of true, no throttle    {u['wall_s']:7.1f} s  on {u['distinct_nodes']} nodes")
    print(f"rompy peak RSS: {out['rompy']['peak_rss_mb']:.1f} MB at {n} members, {small['peak_rss_mb']:.1f} MB at "
          f"{max(1, n // 10)}: {slope * 1024:.0f} kB per member")
    print(f"files: submitit {out['submitit']['files']} ({out['submitit']['files'] / n:.1f} per task, "
          f"largest directory {out['submitit']['largest_dir_entries']} entries); rompy sweep dir "
          f"{out['rompy']['sweep_dir']['files']} (largest {out['rompy']['sweep_dir']['largest_dir_entries']}), "
          f"output {out['rompy']['output_dir']['files']} (largest {out['rompy']['output_dir']['largest_dir_entries']})")
    s = out["submission"]
    print(f"sbatch: {s['single_s'] * 1000:.0f} ms a job ({s['per_second']:.0f}/s); a 1,000-task array "
          f"{s['array_1000_s'] * 1000:.0f} ms ({s['array_over_single']:.1f} x one job)")
    for key, value in out["sacct"].items():
        print(f"sacct poll, {key.replace('_', ' ')}: {value['median_s'] * 1000:.0f} ms for {value['lines']} lines")
    print(f"  all arrays / one job: {r['sacct_all_arrays_to_one_job']:.1f} x; "
          f"{r['sacct_ms_per_1000_lines']:.0f} ms more per 1,000 lines")


if __name__ == "__main__":
    main()
