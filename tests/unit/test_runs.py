"""`rompy runs / show / diff / sweeps`, as a user types them, over records rompy wrote and records it did not."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers.cli import run_rompy
from tests.helpers.runs import record, transport_sweep


def rompy(*args, cwd):
    return run_rompy(*args, cwd=cwd, timeout=120)


def one_error(proc) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows by run id (first column), the header and footer left out."""
    return {line.split()[0]: line.split() for line in stdout.splitlines()[1:-1]}


@pytest.fixture
def two_runs(workdir):
    """Two real runs of the demo model in ./output: `good` succeeds, `bad` fails (exit 3)."""
    assert rompy("run_id=good", "model.depths=[10]", cwd=workdir).returncode == 0
    assert rompy("run_id=bad", "model.depths=[20]", "backend.command='echo oops >&2; exit 3'",
                 cwd=workdir).returncode == 1
    return workdir / "output"


def test_runs_lists_status_exit_code_and_what_differs(two_runs, workdir):
    proc = rompy("runs", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    header, *_, footer = proc.stdout.splitlines()
    assert header.split()[:5] == ["run", "id", "status", "exit", "started"]
    table = rows(proc.stdout)
    assert table["good"][1:3] == ["succeeded", "0"] and table["bad"][1:3] == ["failed", "3"]
    assert "model.depths=[10.0]" in table["good"] and "model.depths=[20.0]" in table["bad"]
    assert "backend.command=null" in table["good"]
    assert all("\x1b" not in line for line in proc.stdout.splitlines()), "no escape codes off a terminal"
    assert footer == "2 runs in output: 1 failed, 1 succeeded"


def test_runs_filters(two_runs, workdir):
    assert list(rows(rompy("runs", "--status", "failed", cwd=workdir).stdout)) == ["bad"]
    assert list(rows(rompy("runs", "--status", "failed,succeeded", cwd=workdir).stdout)) == ["good", "bad"]
    assert set(rows(rompy("runs", "--model", "demo", "--since", "1h", cwd=workdir).stdout)) == {"good", "bad"}
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    proc = rompy("runs", "--since", tomorrow, cwd=workdir)
    assert proc.returncode == 0 and proc.stdout == "0 of 2 runs match in output\n"
    assert rompy("runs", "--model", "swan", cwd=workdir).stdout == "0 of 2 runs match in output\n"


def test_runs_json_has_every_field_and_the_metrics(two_runs, workdir):
    data = json.loads(rompy("runs", "--json", cwd=workdir).stdout)
    assert data["matched"] == data["total"] == 2 and data["unreadable"] == []
    by_id = {run["run_id"]: run for run in data["runs"]}
    assert by_id["bad"]["message"] == "command exited with code 3" and by_id["bad"]["exit_code"] == 3
    assert by_id["good"]["asked"]["model.depths"] == [10.0] and by_id["good"]["metrics"] == {}
    assert "model.depths" in data["differing"]


def test_a_user_finds_the_failed_runs_among_many_without_a_loop(workdir):
    output = workdir / "output"
    for i in range(44):
        record(output, f"run-{i:02d}", status="failed" if i % 11 == 3 else "succeeded", exit_code=1 if i % 11 == 3 else 0)
    proc = rompy("runs", "--status", "failed", cwd=workdir)
    assert list(rows(proc.stdout)) == ["run-03", "run-14", "run-25", "run-36"]
    assert proc.stdout.splitlines()[-1] == "4 of 44 runs match in output: 4 failed"
    proc = rompy("runs", "--limit", "5", cwd=workdir)
    assert len(rows(proc.stdout)) == 5
    assert proc.stdout.splitlines()[-1].endswith("; the newest 5 shown (--limit 0: all)")


def test_damaged_running_and_old_records(workdir):
    output = workdir / "output"
    record(output, "finished", status="succeeded", exit_code=0)
    record(output, "still-going", status="running")  # a run in progress
    (output / "half").mkdir()
    (output / "half" / "rompy-result.json").write_text('{"run_id": "half", "status": "succ')  # torn
    (output / "junk").mkdir()
    (output / "junk" / "rompy-result.json").write_bytes(b"\x00\xff not json")
    (output / "old").mkdir()  # an older rompy wrote fewer fields
    (output / "old" / "rompy-result.json").write_text(json.dumps(
        {"run_id": "old", "status": "failed", "exit_code": 2, "started_at": "2025-01-01T00:00:00Z"}))
    (output / "not-a-run").mkdir()
    proc = rompy("runs", cwd=workdir)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    table = rows(proc.stdout)
    assert list(table) == ["old", "finished", "still-going"]
    assert table["still-going"][1] == "running" and table["old"][1:3] == ["failed", "2"]
    assert proc.stdout.splitlines()[-1] == (
        "3 runs in output: 1 failed, 1 running, 1 succeeded; 2 unreadable records skipped: "
        "output/half/rompy-result.json, output/junk/rompy-result.json")


def test_the_index_follows_runs_that_finish_disappear_or_appear(workdir):
    """The listing's cache must never show a run as it was: only as it is."""
    import shutil

    output = workdir / "output"
    hour_ago = time.time() - 3600
    for name in ("a", "b", "c"):
        record(output, name, status="running")
        os.utime(output / name / "rompy-result.json", (hour_ago, hour_ago))  # old enough to be cached
    assert set(rows(rompy("runs", cwd=workdir).stdout)) == {"a", "b", "c"}
    record(output, "a", status="succeeded", exit_code=0)  # finished since
    shutil.rmtree(output / "b")  # deleted
    record(output, "d", status="failed", exit_code=1)  # new
    (output / "c" / "rompy-result.json").write_text("{")  # damaged
    table = rows(rompy("runs", cwd=workdir).stdout)
    assert {k: v[1] for k, v in table.items()} == {"a": "succeeded", "d": "failed"}


def test_an_unwritable_index_only_costs_time(workdir, tmp_path_factory):
    record(workdir / "output", "a", status="succeeded", exit_code=0)
    state = tmp_path_factory.mktemp("state")
    (state / "runs-index").write_text("a file where the index folder should be")
    proc = run_rompy("runs", cwd=workdir, env={"ROMPY_STATE_DIR": str(state)})
    assert proc.returncode == 0 and list(rows(proc.stdout)) == ["a"], proc.stderr


def test_a_record_field_rompy_does_not_know_is_shown_and_compared(workdir):
    """A field a newer rompy adds (say, the simulation period) shows up with no code naming it."""
    output = workdir / "output"
    record(output, "jan", status="succeeded", exit_code=0, period={"start": "2023-01-01", "duration": "1D"})
    record(output, "feb", status="succeeded", exit_code=0, period={"start": "2023-02-01", "duration": "1D"})
    table = rows(rompy("runs", cwd=workdir).stdout)
    assert "period.start=2023-01-01" in table["jan"] and "period.duration=1D" not in table["jan"]
    shown = rompy("show", "jan", cwd=workdir).stdout
    assert "other fields" in shown and "start: '2023-01-01'" in shown
    diff = rompy("diff", "jan", "feb", cwd=workdir).stdout
    assert diff.splitlines()[4].split() == ["period.start", "2023-01-01", "2023-02-01"]


def test_show_a_failed_run(two_runs, workdir):
    proc = rompy("show", "bad", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.splitlines()[0] == "run bad  failed (exit 3) in run"
    assert "  message   command exited with code 3" in text
    assert f"            {two_runs.resolve() / 'bad' / 'logs' / 'stderr.log'}" in text
    assert "\nconfig\n" in text and "    depths: [20.0]" in text
    assert text.rstrip().endswith("stderr.log\n  oops"), "the end of the failed run's stderr"
    assert "the end of" not in rompy("show", "good", cwd=workdir).stdout, "no log lines for a success"
    assert json.loads(rompy("show", "good", "--json", cwd=workdir).stdout)["status"] == "succeeded"


def test_show_finds_a_run_by_the_start_of_its_id_or_its_folder(two_runs, workdir):
    assert rompy("show", "go", cwd=workdir).stdout.startswith("run good  succeeded")
    assert rompy("show", str(two_runs / "bad"), cwd=workdir).stdout.startswith("run bad  failed")


def test_show_a_run_still_running_whose_rompy_is_gone(workdir):
    record(workdir / "output", "ghost", status="running", pid=2**22 + 12345, host=os.uname().nodename)
    text = rompy("show", "ghost", cwd=workdir).stdout
    assert text.splitlines()[0] == "run ghost  running"
    assert "is gone: it was killed" in text


def test_unknown_runs_and_bad_options_are_one_line_and_exit_2(two_runs, workdir):
    assert one_error(rompy("show", "goood", cwd=workdir)) == "rompy: error: no run 'goood' in output; nearest: good"
    assert one_error(rompy("show", "zzz", cwd=workdir)) == (
        "rompy: error: no run 'zzz' in output (2 there; `rompy runs` lists them)")
    assert one_error(rompy("diff", "good", cwd=workdir)) == (
        "rompy: error: rompy diff: the following arguments are required: RUN_B")
    assert one_error(rompy("runs", "--status", "broken", cwd=workdir)) == (
        "rompy: error: rompy runs: --status broken: not a status; one of running, succeeded, failed, "
        "timed_out, interrupted")
    assert "--since 'yesterday'" in one_error(rompy("runs", "--since", "yesterday", cwd=workdir))
    assert one_error(rompy("runs", "--sweep", "nope", cwd=workdir)).startswith(
        "rompy: error: no sweep 'nope' in output/sweeps")


def test_a_mistyped_output_dir_is_not_an_empty_project(two_runs, workdir):
    """`rompy runs --output-dir outptu` said only "no runs in outptu", as for a project yet to run."""
    for command in (["runs"], ["show", "good"], ["diff", "good", "bad"], ["sweeps"], ["report"]):
        assert one_error(rompy(*command, "--output-dir", "outptu", cwd=workdir)) == (
            "rompy: error: --output-dir outptu: no such folder"), command
    assert one_error(rompy("runs", "output_dir=outptu", cwd=workdir)) == (
        "rompy: error: --output-dir outptu: no such folder")
    (workdir / "fresh").mkdir()
    fresh = rompy("runs", cwd=workdir / "fresh")
    assert fresh.stdout.strip().startswith("no runs in output (each run writes a folder there")


def test_diff_shows_config_then_outcome(two_runs, workdir):
    proc = rompy("diff", "good", "bad", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "diff good bad"
    config = lines[lines.index("config (what the runs were asked to do)") + 1: lines.index("outcome (how they ended)")]
    assert [line.split()[0] for line in config if line.strip()] == ["key", "backend.command", "model.depths"]
    outcome = {line.split()[0]: line.split()[1:] for line in lines[lines.index("outcome (how they ended)") + 2:]}
    assert outcome["status"] == ["succeeded", "failed"] and outcome["exit_code"] == ["0", "3"]
    assert outcome["failed_stage"] == ["(absent)", "run"]
    data = json.loads(rompy("diff", "good", "bad", "--json", cwd=workdir).stdout)
    assert {"key": "model.depths", "a": [10.0], "b": [20.0], "in_a": True, "in_b": True} in data["config"]


def test_sweeps_runs_of_a_sweep_and_their_metrics(workdir):
    sweep = transport_sweep(workdir)
    proc = rompy("sweeps", "--output-dir", str(sweep.output), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "no sweeps in" in proc.stdout  # this sweep's folder is not under output/sweeps
    members = {m["member"]: m for m in sweep.summary()["members"]}
    assert members[0]["metrics"] == {"transport_sv": 25.0, "max_speed_m_s": pytest.approx(10 ** 0.5)}
    assert members[3]["status"] == "failed" and "metrics" not in members[3]
    proc = rompy("runs", "--sweep", str(sweep.dir), "--output-dir", str(sweep.output), cwd=workdir)
    table = rows(proc.stdout)
    assert len(table) == 4 and proc.stdout.splitlines()[-1].startswith("4 of 4 runs match in ")
    row = next(r for r in table.values() if "model.depths=[10.0]" in r)
    assert "transport_sv=25" in row and "max_speed_m_s=3.16228" in row


def test_sweeps_lists_counts_and_state(workdir):
    transport_sweep(workdir, depths="[10],[50]", name="output/sweeps/first")
    proc = rompy("sweeps", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    header, row, footer = proc.stdout.splitlines()
    assert header.split() == ["sweep", "state", "started", "(UTC)", "took", "launcher", "members", "counts"]
    cells = row.split()
    assert cells[:2] == ["first", "ended"] and cells[-6:] == ["sequential", "2", "1", "failed,", "1", "succeeded"]
    assert footer.startswith("1 sweep in output/sweeps, 1 with failures")
    data = json.loads(rompy("sweeps", "--json", cwd=workdir).stdout)
    assert data[0]["counts"] == {"failed": 1, "succeeded": 1} and data[0]["state"] == "ended"


def test_report_of_a_folder_that_is_not_a_sweep(workdir):
    (workdir / "somewhere").mkdir()
    assert one_error(rompy("report", "somewhere", cwd=workdir)) == (
        "rompy: error: somewhere is not a sweep folder (it holds no results.jsonl, summary.json or multirun.yaml)")
    assert one_error(rompy("report", cwd=workdir)) == (
        "rompy: error: no sweeps in output/sweeps; name one: rompy report SWEEP_DIR")


def test_help_lists_the_sub_commands_and_each_has_its_own(workdir):
    text = rompy("--help", cwd=workdir).stdout
    for name in ("runs", "show", "diff", "sweeps", "report"):
        assert f"\n  {name} " in text
        proc = rompy(name, "--help", cwd=workdir)
        assert proc.returncode == 0 and proc.stdout.startswith(f"usage: rompy {name} ")


def test_sub_commands_do_not_take_over_hydra_overrides(workdir):
    """Only an exact first word is a sub-command: `runs=...`, `+runs=...` stay Hydra's."""
    proc = rompy("+runs=1", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2 and "rompy runs" not in proc.stderr
    proc = rompy("dry_run=true", "runs", cwd=workdir)
    assert proc.returncode == 2 and "rompy runs" not in proc.stderr


def test_tables_use_rich_on_a_terminal_and_plain_lines_elsewhere():
    from rompy.cli.terminal import Table

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    table = Table(["run id", "status", "differs"], [["a", "failed", "model.depths=[10]"]], "1 run", status_column=1)
    plain, drawn = io.StringIO(), Terminal()
    table.print(plain)
    table.print(drawn)
    assert plain.getvalue() == "run id  status  differs\na       failed  model.depths=[10]\n1 run\n"
    assert "\x1b[" in drawn.getvalue() and "model.depths=[10]" in drawn.getvalue()  # [10] is text, not a style


def test_a_plain_run_imports_neither_rich_nor_sqlite(workdir):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rompy", "dry_run=true"], cwd=workdir,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")}
    assert not {m for m in imported if m.split(".")[0] in ("rich", "jinja2", "matplotlib", "sqlite3", "selenium")}
    assert not {m for m in imported if m.startswith("rompy.runs")}


def test_diff_tells_keys_under_a_mapping_the_other_run_leaves_empty():
    from rompy.runs.diff import diff_records

    a = {"config": {"backend": {"env_vars": {"OMP_NUM_THREADS": "2"}, "timeout": 120}, "x": {"y": {"z": 1}}}}
    b = {"config": {"backend": {"env_vars": {}, "timeout": 3600}, "x": {}}}
    keys = [key for key, _, _ in diff_records(a, b).config]
    assert keys == ["backend.env_vars.OMP_NUM_THREADS", "backend.timeout", "x.y.z"]
    empty = {"config": {"backend": {"env_vars": {}}}}
    assert not diff_records(empty, empty)
    assert [key for key, _, _ in diff_records(empty, {"config": {"backend": {}}}).config] == ["backend.env_vars"]


def test_a_first_word_that_is_no_sub_command_says_what_to_type(workdir):
    """`rompy run config.yml`, upstream's way, was "Error parsing override 'run'"."""
    assert one_error(rompy("run", "config.yml", "--backend-config", "local.yml", cwd=workdir)) == (
        "rompy: error: 'run' is upstream rompy's sub-command; here: rompy backend=local "
        "(your config groups in ./conf) (docs/migration.md)")
    assert one_error(rompy("rusn", cwd=workdir)) == "rompy: error: 'rusn' is not a sub-command; did you mean 'rompy runs'?"
    assert one_error(rompy("help", cwd=workdir)) == "rompy: error: 'help' is not a sub-command; did you mean 'rompy --help'?"
    assert one_error(rompy("backend", "docker", cwd=workdir)).startswith(
        "rompy: error: 'backend' is neither an override (key=value, e.g. backend=docker) nor a sub-command")
    assert not (workdir / "output").exists()
