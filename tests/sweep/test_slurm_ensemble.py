"""A 1,000-member ensemble on the real one-node SLURM cluster, interrupted twice and resumed.

Once by `scancel` of its array, once by SIGTERM to rompy; then resumed to the end. What each
member's model did is counted in a ledger the members append to when their model finishes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.cli import kill_on_exit, rompy_cmd

MEMBERS = 1000
PER_TASK = 25


class Ensemble:
    def __init__(self, root: Path):
        self.root = root
        self.dir = root / "sweep"
        self.ledger = root / "ledger"
        self.name = f"rompy-ensemble-{uuid.uuid4().hex[:8]}"
        self.args = ["-m", f"hydra.sweep.dir={self.dir}", f"output_dir={root / 'output'}", "hydra/launcher=slurm",
                     f"hydra.launcher.name={self.name}", f"hydra.launcher.members_per_task={PER_TASK}",
                     "hydra.launcher.poll_s=0.5", "sweep.progress=off",
                     f"backend.command='sleep 0.05; echo $M >> {self.ledger}'",
                     f"+backend.env_vars.M=range(0,{MEMBERS})"]

    def start(self, *extra: str, log: str) -> subprocess.Popen:
        with open(self.root / log, "w") as out:
            return subprocess.Popen(rompy_cmd(*self.args, *extra), cwd=self.root, stdout=out, stderr=subprocess.STDOUT)

    def log(self, name: str) -> str:
        return (self.root / name).read_text()[-3000:]

    def finished_models(self) -> int:
        """Members' models that have finished so far, in all passes."""
        return sum(self.ledger_counts().values())

    def wait_for_models(self, proc: subprocess.Popen, more: int, timeout: float = 600) -> None:
        """Until `more` members' models have finished in this pass."""
        target = self.finished_models() + more
        deadline = time.monotonic() + timeout
        while self.finished_models() < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert self.finished_models() >= target, f"{self.finished_models()} models finished, not {target}"

    def ledger_counts(self) -> Counter:
        return Counter(int(x) for x in self.ledger.read_text().split()) if self.ledger.exists() else Counter()

    def succeeded_records(self) -> set[int]:
        """Members whose run record says succeeded."""
        done = set()
        for member in json.loads((self.dir / "summary.json").read_text())["members"]:
            record = Path(member["run_dir"] or "/nonexistent") / "rompy-result.json"
            if record.exists() and json.loads(record.read_text())["status"] == "succeeded":
                done.add(member["member"])
        return done

    def statuses(self) -> dict[int, str]:
        return {m["member"]: m["status"] for m in json.loads((self.dir / "summary.json").read_text())["members"]}

    def jobs_left(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run(["squeue", "-h", "-n", self.name], capture_output=True, text=True).stdout
            if not out.strip():
                return ""
            time.sleep(1)
        return out


def _pass_keeps_earlier_successes(ensemble: Ensemble, before_records: set[int], before_ledger: Counter) -> None:
    """No member whose record said succeeded before this pass ran again in it."""
    statuses = ensemble.statuses()
    assert all(statuses[m] == "skipped" for m in before_records), "earlier successes are skipped"
    after = ensemble.ledger_counts()
    ran_again = [m for m in before_records if after[m] != before_ledger[m]]
    assert not ran_again, f"members that had succeeded ran again: {ran_again[:10]}"


@pytest.mark.slurm
@pytest.mark.slow
def test_a_thousand_member_ensemble_survives_scancel_and_sigterm_then_resumes(tmp_path, slurm_cluster, figures):
    ensemble = Ensemble(tmp_path)
    t0 = time.monotonic()

    # Pass 1: the array is cancelled by its owner from outside rompy.
    first = ensemble.start(log="first.log")
    with kill_on_exit(first):
        ensemble.wait_for_models(first, 150)
        arrays = set(subprocess.run(["squeue", "-h", "-n", ensemble.name, "-o", "%F"],
                                    capture_output=True, text=True).stdout.split())
        assert arrays, "the array is still queued or running"
        subprocess.run(["scancel", *arrays], check=True)
        first.wait(timeout=300)
    assert first.returncode == 1, ensemble.log("first.log")
    assert not ensemble.jobs_left()
    after_first = ensemble.succeeded_records()
    ledger_first = ensemble.ledger_counts()
    statuses = ensemble.statuses()
    assert 0 < len(after_first) < MEMBERS
    assert {statuses[m] for m in after_first} == {"succeeded"}
    assert {s for m, s in statuses.items() if m not in after_first} == {"failed"}, "cancelled or not started"
    t1 = time.monotonic()

    # Pass 2: resumed, then rompy itself gets SIGTERM; it cancels its jobs.
    second = ensemble.start("sweep.resume=true", log="second.log")
    with kill_on_exit(second):
        ensemble.wait_for_models(second, 150)
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=300)
    assert second.returncode == 143, ensemble.log("second.log")
    assert not ensemble.jobs_left(), "rompy cancelled its jobs on SIGTERM"
    _pass_keeps_earlier_successes(ensemble, after_first, ledger_first)
    after_second = ensemble.succeeded_records()
    ledger_second = ensemble.ledger_counts()
    assert after_first < after_second < set(range(MEMBERS))
    statuses = ensemble.statuses()
    assert {statuses[m] for m in after_second - after_first} == {"succeeded"}
    assert {s for m, s in statuses.items() if m not in after_second} <= {"interrupted", "not_run", "failed"}
    t2 = time.monotonic()

    # Pass 3: resumed to the end.
    third = ensemble.start("sweep.resume=true", log="third.log")
    with kill_on_exit(third):
        third.wait(timeout=900)
    assert third.returncode == 0, ensemble.log("third.log")
    _pass_keeps_earlier_successes(ensemble, after_second, ledger_second)
    assert ensemble.succeeded_records() == set(range(MEMBERS)), "no member lost"
    statuses = Counter(ensemble.statuses().values())
    assert statuses == {"skipped": len(after_second), "succeeded": MEMBERS - len(after_second)}
    ledger = ensemble.ledger_counts()
    assert set(ledger) == set(range(MEMBERS))
    assert not ensemble.jobs_left()
    t3 = time.monotonic()

    reruns = sum(count - 1 for count in ledger.values())
    figures.record(
        f"{MEMBERS} members of `sleep 0.05`, {PER_TASK} a task, on the one-node cluster: "
        "scancel of the array, then SIGTERM to rompy, then resumed to the end",
        members=MEMBERS, members_per_task=PER_TASK,
        succeeded_after_scancel=len(after_first), succeeded_after_sigterm=len(after_second),
        pass_s=[round(t1 - t0, 1), round(t2 - t1, 1), round(t3 - t2, 1)],
        models_cut_short_and_rerun=reruns,
        load_average=round(os.getloadavg()[0], 2),
    )
