"""`rompy runs` over many run records, against a plain scan of the same JSON files, in the same run.

Makes N run folders (default 10,000) with records shaped like real ones (a tenth failed,
a few still running, two damaged), then times, interleaved, each as a fresh process:

  scan     python reading every rompy-result.json with json.loads (the baseline: what a
           user's own loop does, with no Pydantic and no table)
  cold     `rompy runs` with no index (it reads every record and builds the index)
  warm     `rompy runs` with the index (the target: <= 1 s)
  all      `rompy runs --limit 0`: every row printed, with the index
  json     `rompy runs --json`: every row as JSON, with the index
  tty      `rompy runs` drawn with rich on a pseudo-terminal, with the index

Usage: python benchmarks/bench_runs.py [--runs N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCAN = """
import json, os, sys
rows = []
for entry in os.scandir(sys.argv[1]):
    try:
        with open(os.path.join(entry.path, "rompy-result.json"), encoding="utf-8") as fh:
            rows.append(json.load(fh)["status"])
    except (OSError, ValueError, KeyError):
        pass
print(len(rows))
"""


def make_runs(output: Path, count: int) -> None:
    """`count` run folders with realistic records; their files dated an hour ago (as after a day's work)."""
    statuses = ["succeeded"] * 86 + ["failed"] * 10 + ["timed_out"] * 2 + ["running"] * 2
    for i in range(count):
        run_id = f"20261201-{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}-{i:06x}"
        status = statuses[i % len(statuses)]
        record = {
            "run_id": run_id, "status": status, "stage": "run", "failed_stage": None if status == "succeeded" else "run",
            "exit_code": 0 if status == "succeeded" else 3, "message": "" if status == "succeeded" else
            "command exited with code 3", "started_at": f"2026-12-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
            f"{i % 60:02d}.000000Z", "finished_at": None if status == "running" else "2026-12-01T23:59:59Z",
            "duration_s": None if status == "running" else 1.5 + i % 7, "run_dir": str(output / run_id),
            "config": {"run_id": run_id, "output_dir": str(output), "delete_existing": False, "dry_run": False,
                       "debug": False, "log_level": "INFO",
                       "backend": {"type": "local", "timeout": 3600, "command": None, "env_vars": {}, "secret_env": [],
                                   "executable": None, "mpiexec": None, "cpu": 1 + i % 4, "shell": True,
                                   "capture_output": True, "working_dir": None},
                       "postprocessor": {"type": "summary", "fail_run": True, "filename": "summary.json"},
                       "model": {"type": "demo", "depths": [10.0 * (1 + i % 5)], "periods": [5.0, 10.0], "g": 9.81},
                       "sweep": {"fail_fast": False, "resume": False, "progress": "auto"}},
            "versions": {"rompy": "0.1.0", "python": "3.11.7", "hydra": "1.3.8"}, "host": "bench", "pid": 1,
            "backend": {"status": status, "exit_code": 0, "duration_s": 1.0, "message": "",
                        "logs": {"stdout": str(output / run_id / "logs/stdout.log")}, "details": {}},
            "postprocess": {"success": True, "message": "summarised 1 files"},
            "metrics": {"transport_sv": 100 + i % 50, "file_count": 1.0},
        }
        folder = output / run_id
        folder.mkdir(parents=True)
        text = json.dumps(record, indent=2)
        if i in (7, 11):
            text = text[: len(text) // 2]  # damaged: half written
        (folder / "rompy-result.json").write_text(text)
    hour_ago = time.time() - 3600
    for folder in output.iterdir():
        os.utime(folder / "rompy-result.json", (hour_ago, hour_ago))


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode()}")
    return took


def timed_tty(cmd: list[str], env: dict[str, str]) -> float:
    """Wall time of `cmd` writing to a pseudo-terminal (120 columns), its output drained."""
    main, sub = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**env, "COLUMNS": "120"}, stdout=sub, stderr=subprocess.DEVNULL)
    os.close(sub)
    while True:
        try:
            if not os.read(main, 65536):
                break
        except OSError:
            break
    proc.wait()
    took = time.perf_counter() - start
    os.close(main)
    if proc.returncode != 0:
        raise SystemExit(f"failed on a terminal: {' '.join(cmd)}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "output"
        state = Path(tmp) / "state"
        env["ROMPY_STATE_DIR"] = str(state)
        t0 = time.perf_counter()
        make_runs(output, args.runs)
        print(f"{args.runs} run records made in {time.perf_counter() - t0:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f}")
        rompy = [py, "-m", "rompy", "runs", "--output-dir", str(output)]
        commands = {
            "scan": [py, "-c", SCAN, str(output)],
            "cold": rompy, "warm": rompy, "all": [*rompy, "--limit", "0"], "json": [*rompy, "--json"],
        }
        times: dict[str, list[float]] = {name: [] for name in [*commands, "tty"]}
        timed(rompy, env)  # bytecode caches, and the index for the warm rounds
        for _ in range(args.repeat):
            for name, cmd in commands.items():
                if name == "cold":
                    shutil.rmtree(state / "runs-index", ignore_errors=True)
                times[name].append(timed(cmd, env))
            times["tty"].append(timed_tty(rompy, env))
        scan = statistics.median(times["scan"])
        print(f"\n{'':6} {'median':>8} {'min':>8}  vs scan (paired median)")
        for name, walls in times.items():
            ratio = statistics.median(w / s for w, s in zip(walls, times["scan"]))
            print(f"{name:6} {statistics.median(walls):7.3f}s {min(walls):7.3f}s  {ratio:5.2f}")
        warm = statistics.median(times["warm"])
        print(f"\nrompy runs over {args.runs} records, with the index: {warm:.3f} s "
              f"({'meets' if warm <= 1.0 else 'MISSES'} the 1 s target); a plain scan: {scan:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
