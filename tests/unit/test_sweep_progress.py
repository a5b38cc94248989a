"""Progress: a live line on a terminal, plain lines otherwise; the table puts failures first."""

import io

from rompy.sweep.plan import MemberJob, plan_members
from rompy.sweep.records import EndedMembers, MemberResult
from rompy.sweep.progress import Progress, preview, table
from rompy.sweep.runner import TABLE_ROWS, rows_first


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_live_line_on_a_terminal():
    stream = Tty()
    progress = Progress(3, "auto", stream)
    assert progress.mode == "live"
    job = plan_members([["a=1"]], "s")[0]
    progress.started(job)
    progress.finished(job, MemberResult("failed", 1, "boom", duration_s=1.0))
    progress.close()
    text = stream.getvalue()
    assert "\r" in text and "1/3 done, 1 failed, 0 running" in text and "ETA" in text
    assert "member 0" not in text  # no per-member lines in live mode


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(2, "auto", stream)
    assert progress.mode == "plain"
    job = plan_members([["a=1"]], "s")[0]
    progress.started(job)
    progress.finished(job, MemberResult("timed_out", 1, "stopped after 60 s", duration_s=60.0))
    assert stream.getvalue() == "rompy: sweep [1/2] member 0 timed_out (exit 1, 60.00 s) a=1: stopped after 60 s\n"


def test_table_lists_failures_first():
    statuses = {0: "succeeded", 1: "skipped", 2: "timed_out", 3: "failed"}
    jobs = [MemberJob(n, [f"x={n}"], "k", f"r{n}") for n in statuses]
    assert [job.number for job in rows_first(jobs, statuses.get)] == [3, 2, 0, 1]
    lines = {
        0: {"member": 0, "status": "succeeded", "exit_code": 0, "duration_s": 1.0, "run_id": "a", "overrides": ["x=0"]},
        1: {"member": 1, "status": "skipped", "exit_code": 0, "previous": {"duration_s": 2.0}, "run_id": "b", "overrides": ["x=1"]},
        2: {"member": 2, "status": "timed_out", "exit_code": 1, "duration_s": 60.0, "run_id": "c", "overrides": ["x=2"]},
        3: {"member": 3, "status": "failed", "exit_code": 1, "duration_s": 0.5, "run_id": "d", "overrides": ["x=3"]},
    }
    rows = table([lines[job.number] for job in rows_first(jobs, statuses.get)],
                 {"succeeded": 1, "skipped": 1, "timed_out": 1, "failed": 1}, "/s").plain().splitlines()
    assert [r.split()[1] for r in rows[1:5]] == ["failed", "timed_out", "succeeded", "skipped"]
    assert rows[4].split()[3] == "2.00s"  # a skipped member shows how long its earlier run took
    assert rows[-1].startswith("4 members:")


def test_a_large_sweeps_table_shows_its_failures_and_says_how_many_rows_it_leaves_out():
    statuses = {n: ("failed" if n in (7, 5000) else "succeeded") for n in range(10_000)}
    jobs = [MemberJob(n, [f"x={n}"], "k", f"r{n}") for n in statuses]
    shown = rows_first(jobs, statuses.get)
    assert [job.number for job in shown[:3]] == [7, 5000, 0] and len(shown) == TABLE_ROWS
    lines = [{"member": job.number, "status": statuses[job.number], "run_id": job.run_id, "overrides": job.overrides}
             for job in shown]
    text = table(lines, {"succeeded": 9998, "failed": 2}, "/s", total=10_000).plain().splitlines()
    assert text[-2] == f"... {10_000 - TABLE_ROWS} more not shown (rompy sweeps /s lists them all)"
    assert text[-1].startswith("10000 members: 9998 succeeded, 2 failed")


def test_a_sweep_keeps_how_each_member_ended_and_the_others_are_not_run():
    ended = EndedMembers(range(5, 10_005))
    ended.add(7, "failed", 120)
    ended.add(7, "interrupted", 5_000_000_000)  # the member's latest line counts, wherever it starts
    ended.add(8, "cancelled", 9)  # a status from elsewhere (a run record's) is kept as given
    ended.add(9000, "succeeded", 0)
    assert 7 in ended and 6 not in ended and 4 not in ended and 10_005 not in ended
    assert (ended.status(7), ended.offset(7)) == ("interrupted", 5_000_000_000)
    assert (ended.status(8), ended.status(6), ended.status(10_005)) == ("cancelled", "not_run", "not_run")
    jobs = [MemberJob(n, [f"x={n}"], "k", f"r{n}") for n in range(5, 10_005)]
    shown = [job.number for job in rows_first(jobs, ended.status)]
    assert shown[:4] == [8, 7, 5, 6] and 9000 not in shown and len(shown) == TABLE_ROWS


def test_a_one_member_sweep_says_member():
    line = {"member": 0, "status": "succeeded", "run_id": "r0", "overrides": ["x=1"]}
    assert table([line], {"succeeded": 1}, "/s", total=1).plain().splitlines()[-1].startswith("1 member: 1 succeeded")
    footer = preview([MemberJob(0, ["x=1"], "k", "r0")], "/s").plain().splitlines()[-1]
    assert footer.startswith("dry run: 1 member valid;")
