"""A local model's output reaches the console and its log files whole, with no helper threads."""

from __future__ import annotations

import sys
import threading

import pytest

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


def test_a_session_holding_many_files_open_can_still_run_a_model(tmp_path):
    """The model's pipes get descriptors above 1023, which select() refuses."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit on open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held_open = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        status, code, _ = run_process_group([sys.executable, "-c", "print('hello')"], tmp_path,
                                            {"PATH": "/usr/bin:/bin"}, timeout=120, logs_dir=tmp_path / "logs")
    finally:
        for fd in held_open:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert (status, code) == ("succeeded", 0)
    assert (tmp_path / "logs" / "stdout.log").read_text() == "hello\n"


def test_without_a_pidfd_the_model_is_polled_and_its_output_still_copied(tmp_path, monkeypatch, capsys):
    """Where the kernel has no pidfd (macOS, Linux before 5.3) the wait polls the process between reads."""
    import os

    def no_pidfd(pid, flags=0):
        raise OSError("pidfd_open not supported")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    script = "import sys, time\nprint('first', flush=True)\ntime.sleep(0.3)\nprint('second')\nsys.exit(3)\n"
    status, code, _ = run_process_group([sys.executable, "-c", script], tmp_path, {"PATH": "/usr/bin:/bin"},
                                        timeout=120, logs_dir=tmp_path / "logs")
    assert (status, code) == ("failed", 3)
    assert (tmp_path / "logs" / "stdout.log").read_text() == "first\nsecond\n"
    assert capsys.readouterr().out == "first\nsecond\n"
