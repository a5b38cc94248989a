"""Sweeps through the real CLI: results, summary, failure policy, resume, ensembles, launchers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from rompy.sweep.plan import member_key
from tests.helpers.cli import kill_on_exit, run_rompy

EXITER = textwrap.dedent('''
    import sys
    from rompy.postprocess.base import PostprocessorConfig

    class Exiter(PostprocessorConfig):
        type: str = "sweep_exiter:Exiter"
        code: int = 0

        def process(self, model_run, **kwargs):
            if self.code:
                sys.exit(self.code)
            return {"success": True}
''')


def test_sweep_records_every_member_and_exit_code_0(sweep):
    proc = sweep.run("backend.command='true'", "model.depths=[10],[20]", "backend.timeout=60,120")
    assert proc.returncode == 0, proc.stderr
    lines = sweep.lines()
    assert len(lines) == 4
    assert sorted(line["member"] for line in lines) == [0, 1, 2, 3]
    for line in lines:
        assert line["status"] == "succeeded" and line["exit_code"] == 0
        for field in ("overrides", "started_at", "finished_at", "duration_s", "run_dir", "run_id", "key"):
            assert line[field] is not None, field
        run_dir = Path(line["run_dir"])
        assert run_dir.parent == sweep.output.resolve() and (run_dir / "rompy-result.json").exists()
        assert json.loads((run_dir / "rompy-result.json").read_text())["run_id"] == line["run_id"]
        assert line["run_id"].startswith("sweep-") and line["run_id"].endswith(line["key"])
        assert line["key"] == member_key(line["overrides"])
    assert len({line["run_dir"] for line in lines}) == 4
    summary = sweep.summary()
    assert summary["total"] == 4 and summary["counts"]["succeeded"] == 4 and summary["exit_code"] == 0
    assert "4 members: 4 succeeded" in proc.stdout
    # Hydra stays out of run directories
    assert not any((Path(line["run_dir"]) / ".hydra").exists() for line in lines)


def test_failures_never_stop_the_others_and_are_listed_first(sweep):
    proc = sweep.run("backend.command='exit 0','exit 3','exit 0'")
    assert proc.returncode == 1
    members = sweep.by_member()
    assert [members[i]["status"] for i in range(3)] == ["succeeded", "failed", "succeeded"]
    assert members[1]["exit_code"] == 1 and members[1]["model_exit_code"] == 3
    table = [line for line in proc.stdout.splitlines() if line[:1].isdigit()]
    assert table[0].split()[:2] == ["1", "failed"]
    assert "member 1 failed" in proc.stderr  # plain progress lines when not a terminal


def test_systemexit_inside_a_member_is_a_failed_member(sweep):
    (sweep.root / "sweep_exiter.py").write_text(EXITER)
    env = {"PYTHONPATH": f"{sweep.root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = sweep.run("backend.command='true'", "postprocessor.type='sweep_exiter:Exiter'",
                     "+postprocessor.code=0,7,0", env=env)
    assert proc.returncode == 1, proc.stderr
    members = sweep.by_member()
    assert [members[i]["status"] for i in range(3)] == ["succeeded", "failed", "succeeded"]
    assert members[1]["exit_code"] == 7 and "SystemExit(7)" in members[1]["message"]
    record = json.loads((Path(members[1]["run_dir"]) / "rompy-result.json").read_text())
    assert record["status"] == "failed"


def test_the_whole_sweep_is_validated_before_any_member_runs(sweep):
    proc = sweep.run("backend.command='true'", "model.periods=5,6", "backend.timeout=60,5,two")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines == [  # one line per problem, naming the members that have it
        "rompy: error: members 1, 4: backend.timeout = 5: Input should be greater than or equal to 60 "
        "(set by override 'backend.timeout=5')",
        "rompy: error: members 2, 5: backend.timeout = 'two': Input should be a valid integer, unable to parse "
        "string as an integer (set by override 'backend.timeout=two')"], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not sweep.dir.exists() and not sweep.output.exists(), "nothing may run or be created"


def test_fail_fast_stops_at_the_first_failure(sweep):
    proc = sweep.run("sweep.fail_fast=true", "backend.command='exit 0','exit 4','exit 0','exit 0'")
    assert proc.returncode == 1
    summary = sweep.summary()
    assert [m["status"] for m in summary["members"]] == ["succeeded", "failed", "not_run", "not_run"]
    assert summary["stopped"] == "fail_fast"
    assert len(sweep.lines()) == 2


def test_resume_skips_succeeded_members_and_reruns_the_rest(sweep):
    flag = sweep.root / "ok"
    command = f"backend.command='test \"$M\" != 1 || test -e {flag}'"
    first = sweep.run(command, "+backend.env_vars.M=0,1,2")
    assert first.returncode == 1
    before = sweep.by_member()
    assert before[1]["status"] == "failed"
    failed_dir = Path(before[1]["run_dir"])
    (failed_dir / "stale-marker").write_text("from the failed attempt")
    flag.write_text("")
    second = sweep.run(command, "+backend.env_vars.M=0,1,2", "sweep.resume=true")
    assert second.returncode == 0, second.stderr
    after = sweep.by_member()
    assert [after[i]["status"] for i in range(3)] == ["skipped", "succeeded", "skipped"]
    assert after[0]["previous"]["status"] == "succeeded"
    assert after[0]["previous"]["finished_at"] == before[0]["finished_at"]
    assert after[1]["run_dir"] == before[1]["run_dir"]  # same run id: stable across re-runs
    assert not (failed_dir / "stale-marker").exists()  # old run directory replaced
    assert sweep.summary()["counts"]["skipped"] == 2
    assert len(sweep.lines()) == 6  # earlier lines kept, three new ones appended
    third = sweep.run(command, "+backend.env_vars.M=0,1,2", "sweep.resume=true")
    assert third.returncode == 0
    assert {m["status"] for m in sweep.summary()["members"]} == {"skipped"}


def test_rerun_without_resume_refuses_existing_run_dirs_before_running(sweep):
    assert sweep.run("backend.command='true'", "+backend.env_vars.M=0,1").returncode == 0
    before = sweep.summary()
    again = sweep.run("backend.command='true'", "+backend.env_vars.M=0,1")
    assert again.returncode == 2
    lines = again.stderr.splitlines()
    assert len(lines) == 2 and all("already exists" in line and "sweep.resume=true" in line for line in lines)
    assert sweep.summary() == before, "a refused sweep leaves the earlier results as they were"


def test_committed_ensemble(sweep):
    proc = sweep.run("+ensemble=demo", "hydra/launcher=parallel")
    assert proc.returncode == 0, proc.stderr
    summary = sweep.summary()
    assert summary["total"] == 6 and summary["counts"]["succeeded"] == 6
    depths = {tuple(json.loads((Path(m["run_dir"]) / "rompy-result.json").read_text())["config"]["model"]["depths"])
              for m in summary["members"]}
    assert depths == {(10, 20), (50, 100), (200, 500)}


def test_other_hydra_launchers_still_get_results(sweep):
    proc = sweep.run("hydra/launcher=basic", "backend.command='true','exit 2'")
    assert proc.returncode == 1
    assert [m["status"] for m in sweep.summary()["members"]] == ["succeeded", "failed"]
    assert sweep.summary()["launcher"] == "BasicLauncher"


def test_rompy_launcher_under_hydras_basic_sweeper(sweep):
    proc = sweep.run("hydra/sweeper=basic", "hydra/launcher=parallel", "backend.command='true','exit 2'")
    assert proc.returncode == 1
    assert [m["status"] for m in sweep.summary()["members"]] == ["succeeded", "failed"]


def _wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("launcher,signum,code", [
    ("sequential", signal.SIGINT, 130),
    ("sequential", signal.SIGTERM, 143),
    ("parallel", signal.SIGINT, 130),
    ("parallel", signal.SIGTERM, 143),
])
def test_interrupt_stops_the_sweep(sweep, launcher, signum, code):
    marker = sweep.root / "started"
    proc = sweep.popen(f"hydra/launcher={launcher}", "hydra.launcher.cores=1" if launcher == "parallel" else
                       "sweep.progress=plain", f"backend.command='touch {marker}; sleep 60'",
                       "+backend.env_vars.M=0,1,2")
    with kill_on_exit(proc):
        assert _wait_for(marker.exists), proc.stderr.read() if proc.poll() is not None else "not started"
        time.sleep(0.5)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    summary = sweep.summary()
    statuses = [m["status"] for m in summary["members"]]
    assert statuses[0] == "interrupted" and statuses[1:] == ["not_run", "not_run"], statuses
    assert summary["exit_code"] == code
    record = json.loads((Path(summary["members"][0]["run_dir"]) / "rompy-result.json").read_text())
    assert record["status"] == "interrupted"


@pytest.mark.parametrize("launcher,checkers", [("sequential", 1), ("parallel", 2)])
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_interrupt_while_a_large_sweep_is_checked_says_so_and_leaves_nothing(sweep, launcher, checkers, signum, code):
    """Checking 20,000 members takes seconds: stopping it there is one line, not a silent exit."""
    from tests.helpers.processes import children, is_running

    proc = sweep.popen(f"hydra/launcher={launcher}", "hydra.launcher.cores=2" if launcher == "parallel" else
                       "sweep.progress=plain", "backend.command='true'", "+backend.env_vars.M=range(0,20000)")
    with kill_on_exit(proc):
        # A large sweep's check is shared with forked children, one per further core (two cores here).
        assert _wait_for(lambda: len(children(proc.pid)) == checkers or proc.poll() is not None), \
            "the check never began"
        forked = children(proc.pid)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.splitlines() == [f"rompy: error: interrupted by {signal.Signals(signum).name} while checking the "
                                "sweep's 20000 members; nothing ran"]
    assert not sweep.dir.exists() and not sweep.output.exists()
    assert not any(is_running(pid) for pid in forked)


def test_a_large_sequential_sweep_with_bad_members_runs_nothing(sweep):
    """Its check, shared with a forked child, still finds every bad member, in member order."""
    proc = sweep.run("backend.command='true'", "backend.timeout=range(50,150)")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"rompy: error: member {n}" for n in range(10)]
    assert all(f"backend.timeout = {50 + n}" in line for n, line in enumerate(lines))
    assert not sweep.dir.exists() and not sweep.output.exists()


@pytest.mark.slow
def test_member_timeout_is_reported_and_the_others_finish(sweep):
    t0 = time.monotonic()
    proc = sweep.run("hydra/launcher=parallel", "backend.timeout=60", "backend.command='sleep 600','true','exit 3'")
    assert proc.returncode == 1, proc.stderr
    members = sweep.by_member()
    assert [members[i]["status"] for i in range(3)] == ["timed_out", "succeeded", "failed"]
    assert "timeout" in members[0]["message"]
    assert time.monotonic() - t0 < 120
    assert list(sweep.summary()["counts"].items())[:3] == [("succeeded", 1), ("failed", 1), ("timed_out", 1)]


def test_two_sweeps_started_together_never_share_a_directory(tmp_path):
    from tests.helpers.cli import rompy_cmd

    argv = rompy_cmd("-m", "model.depths=[10],[20],[30]", "backend.command='sleep 1'", "sweep.progress=off")
    procs = [subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    dry = subprocess.run([*argv, "dry_run=true"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert dry.returncode == 0 and "nothing was created" in dry.stdout
    sweep_dirs = sorted((tmp_path / "output" / "sweeps").iterdir())
    assert len(sweep_dirs) == 3, "one directory per sweep; the dry run creates none"
    run_ids = set()
    for sweep_dir in sweep_dirs:
        summary = json.loads((sweep_dir / "summary.json").read_text())
        lines = [json.loads(x) for x in (sweep_dir / "results.jsonl").read_text().splitlines()]
        assert summary["counts"]["succeeded"] == 3 and len(lines) == 3
        assert {line["sweep_id"] for line in lines} == {summary["sweep_id"]}
        run_ids |= {line["run_id"] for line in lines}
    assert len(run_ids) == 9
    run_dirs = [p for p in (tmp_path / "output").iterdir() if p.name != "sweeps"]
    assert len(run_dirs) == 9


def test_a_second_sweep_into_a_busy_sweep_dir_is_refused(sweep):
    go = sweep.root / "go"  # the first sweep's members wait for it: the second sweep meets a busy folder
    wait = f"backend.command='while [ ! -e {go} ]; do sleep 0.1; done'"
    first = sweep.popen(wait, "+backend.env_vars.M=1,2")
    with kill_on_exit(first):
        deadline = time.monotonic() + 60
        while not list(sweep.output.glob("*/rompy-result.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = sweep.run("backend.command='true'", "+backend.env_vars.M=3,4")
        assert second.returncode == 2, second.stderr
        (line,) = second.stderr.splitlines()
        assert "hydra.sweep.dir" in line and "in use by a sweep that is still running" in line
        assert f"pid {first.pid}" in line
        go.touch()
        assert first.wait(timeout=120) == 0
    lines = sweep.lines()
    assert sorted(line["overrides"][-1] for line in lines) == ["+backend.env_vars.M=1", "+backend.env_vars.M=2"]
    assert sweep.summary()["counts"]["succeeded"] == 2
    resumed = sweep.run(wait, "+backend.env_vars.M=1,2", "sweep.resume=true")
    assert resumed.returncode == 0, "the lock ends with the sweep that held it"


def test_a_dry_run_sweep_previews_the_members_and_creates_nothing(sweep):
    proc = sweep.run("model.depths=[10],[20]", "backend.command='true'", "dry_run=true")
    assert proc.returncode == 0, proc.stderr
    assert not sweep.dir.exists() and not sweep.output.exists()
    rows = [line.split() for line in proc.stdout.splitlines() if line[:1].isdigit()]
    previewed = {row[1] for row in rows}
    real = sweep.run("model.depths=[10],[20]", "backend.command='true'")
    assert real.returncode == 0, real.stderr
    assert {line["run_id"] for line in sweep.lines()} == previewed, "the preview shows the run ids the sweep uses"


def test_resume_without_a_sweep_dir_resumes_the_latest_sweep_with_the_same_overrides(tmp_path):
    ok = tmp_path / "ok"  # member 2 fails until this file exists
    sweep = ["-m", f"output_dir={tmp_path / 'out'}", f"backend.command='test $M != 2 -o -e {ok}'",
             "+backend.env_vars.M=1,2"]
    first = run_rompy(*sweep, cwd=tmp_path)
    other = run_rompy(*sweep[:-1], "+backend.env_vars.M=7", cwd=tmp_path)  # a later sweep, other members
    assert first.returncode == 1 and other.returncode == 0
    folders = sorted((tmp_path / "out" / "sweeps").iterdir())
    assert len(folders) == 2
    (first_dir,) = [f for f in folders if (f / "results.jsonl").read_text().count("\n") == 2]
    ok.touch()
    resumed = run_rompy(*sweep, "sweep.resume=true", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {first_dir}" in resumed.stderr
    assert sorted((tmp_path / "out" / "sweeps").iterdir()) == folders, "no new sweep folder"
    summary = json.loads((first_dir / "summary.json").read_text())
    assert [m["status"] for m in summary["members"]] == ["skipped", "succeeded"]


def test_resume_without_a_sweep_dir_and_nothing_like_it_is_one_line(tmp_path):
    proc = run_rompy("-m", f"output_dir={tmp_path / 'out'}", "backend.command='true'", "+backend.env_vars.M=1,2",
                     "sweep.resume=true", cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("rompy: error: sweep.resume=true: no sweep in") and "nothing to resume" in line
    assert not (tmp_path / "out").exists()


def test_resume_trusts_a_member_record_that_says_it_succeeded(sweep):
    """The sweep died after a member's record said succeeded, before its results line: not run twice."""
    proc = sweep.run("backend.command='true'", "+backend.env_vars.M=0,1,2")
    assert proc.returncode == 0, proc.stderr
    done = sweep.by_member()
    results = sweep.dir / "results.jsonl"
    results.write_text(results.read_text().splitlines(keepends=True)[0])  # as if it died after member 0's line
    record_path = Path(done[2]["run_dir"]) / "rompy-result.json"
    record = json.loads(record_path.read_text())
    record["postprocess"] = None  # member 2 was stopped while it postprocessed: it must run again
    record_path.write_text(json.dumps(record))
    resumed = sweep.run("backend.command='true'", "+backend.env_vars.M=0,1,2", "sweep.resume=true")
    assert resumed.returncode == 0, resumed.stderr
    after = sweep.by_member()
    assert [after[i]["status"] for i in range(3)] == ["skipped", "skipped", "succeeded"]
    kept = json.loads((Path(done[1]["run_dir"]) / "rompy-result.json").read_text())
    assert after[1]["previous"]["finished_at"] == kept["finished_at"], "member 1 is known from its record"


def test_a_sweep_named_by_run_id_gives_each_member_its_own_run_and_previews_them(tmp_path):
    """`-m ... run_id=NAME` names the sweep: members once all got the run id NAME and collided."""
    args = ("-m", "model.depths=[10],[20]", "backend.command='true'", "sweep.progress=off")
    unnamed = run_rompy(*args, "dry_run=true", cwd=tmp_path)
    assert unnamed.returncode == 0 and "run_id=NAME" in unnamed.stdout, "the preview says its ids are per command"
    dry = run_rompy(*args, "run_id=ens", "dry_run=true", cwd=tmp_path)
    assert dry.returncode == 0 and "run_id=NAME" not in dry.stdout
    previewed = {line.split()[1] for line in dry.stdout.splitlines() if line[:1].isdigit()}
    real = run_rompy(*args, "run_id=ens", cwd=tmp_path)
    assert real.returncode == 0, real.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "output").glob("ens-*/rompy-result.json")]
    assert {r["run_id"] for r in records} == previewed and len(previewed) == 2
    assert {r["status"] for r in records} == {"succeeded"}


def test_run_ids_swept_with_other_values_start_each_members_run_id(tmp_path):
    """`-m run_id=a,b model.depths=[10],[20]` gave two members each run id: the second of each collided."""
    args = ("-m", "run_id=a,b", "model.depths=[10],[20]", "backend.command='true'", "sweep.progress=off")
    dry = run_rompy(*args, "dry_run=true", cwd=tmp_path)
    assert dry.returncode == 0 and "run_id=NAME" not in dry.stdout, "these ids do not change per command"
    previewed = [line.split()[1] for line in dry.stdout.splitlines() if line[:1].isdigit()]
    real = run_rompy(*args, cwd=tmp_path)
    assert real.returncode == 0, real.stderr
    records = {json.loads(p.read_text())["run_id"]: json.loads(p.read_text())["status"]
               for p in (tmp_path / "output").glob("*/rompy-result.json")}
    assert sorted(records) == sorted(previewed) and len(records) == 4
    assert set(records.values()) == {"succeeded"}
    assert sorted(run_id.split("-depths-")[0] for run_id in records) == ["a", "a", "b", "b"]


def test_a_run_id_for_the_whole_sweep_is_checked_as_a_single_runs_is(tmp_path):
    """It was cleaned into a sweep id (`bad/../x` -> `bad-.-x`) where a single run refuses it."""
    proc = run_rompy("-m", "run_id=bad/../x", "model.depths=[10],[20]", "dry_run=true", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "rompy: error: run_id = 'bad/../x': run_id must be 1-200 letters, digits, '.', '_' or '-', start with a "
        "letter or digit and not contain '..' (it names a folder inside output_dir) (set by override 'run_id=bad/../x')"]
    assert not (tmp_path / "output").exists()
