"""A local model's output reaches the console and its log files whole, with no helper threads."""

from __future__ import annotations

import sys
import threading

from rompy.runtime.processes import run_process_group

BIG = 300_000  # several pipe buffers: the copy must keep reading while the model writes


def test_output_is_copied_whole_to_console_and_logs(tmp_path, capsys):
    script = (
        "import sys\n"
        f"sys.stdout.write('x' * {BIG} + '\\n')\n"
        "sys.stderr.write('warning: one\\n')\n"
        "sys.stdout.write('last line without newline')\n"
    )
    started_threads = []
    original_start = threading.Thread.start

    def counting_start(self, *args, **kwargs):
        started_threads.append(self.name)
        return original_start(self, *args, **kwargs)

    threading.Thread.start = counting_start
    try:
        status, code, _ = run_process_group([sys.executable, "-c", script], tmp_path, {"PATH": "/usr/bin:/bin"},
                                            timeout=120, logs_dir=tmp_path / "logs")
    finally:
        threading.Thread.start = original_start

    assert (status, code) == ("succeeded", 0)
    assert started_threads == []
    stdout_log = (tmp_path / "logs" / "stdout.log").read_text()
    assert stdout_log == "x" * BIG + "\nlast line without newline"
    assert (tmp_path / "logs" / "stderr.log").read_text() == "warning: one\n"
    seen = capsys.readouterr()
    assert seen.out == stdout_log
    assert seen.err == "warning: one\n"
