"""Progress: a live line on a terminal, plain lines otherwise; the table puts failures first."""

import io

from rompy.sweep.plan import plan_members
from rompy.sweep.records import MemberResult
from rompy.sweep.progress import Progress, table


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
    members = [
        {"member": 0, "status": "succeeded", "exit_code": 0, "duration_s": 1.0, "run_id": "a", "overrides": ["x=0"]},
        {"member": 1, "status": "skipped", "exit_code": 0, "previous": {"duration_s": 2.0}, "run_id": "b", "overrides": ["x=1"]},
        {"member": 2, "status": "timed_out", "exit_code": 1, "duration_s": 60.0, "run_id": "c", "overrides": ["x=2"]},
        {"member": 3, "status": "failed", "exit_code": 1, "duration_s": 0.5, "run_id": "d", "overrides": ["x=3"]},
    ]
    rows = table(members, {"succeeded": 1, "skipped": 1, "timed_out": 1, "failed": 1}, "/s").plain().splitlines()
    assert [r.split()[1] for r in rows[1:5]] == ["failed", "timed_out", "succeeded", "skipped"]
    assert rows[-1].startswith("4 members:")
