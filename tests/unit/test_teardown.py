"""Clean-ups that go on beside rompy's work where the process's entry point allows it.

A user sees this as: a container run's record is written while the engine is still
releasing the container, yet no container outlives rompy; a Python API call (or a forked
worker) still returns only once its container is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from rompy.runtime import teardown


def test_outside_the_entry_point_a_clean_up_is_done_when_the_call_returns():
    done = []
    teardown.clean_up(lambda: (time.sleep(0.2), done.append(1)), name="test")
    assert done == [1] and teardown.pending() == 0


def test_the_entry_point_lets_a_clean_up_go_on_and_waits_for_it_at_its_end():
    release, done = threading.Event(), []

    def slow() -> None:
        release.wait(10)
        done.append(1)

    with teardown.overlapping():
        teardown.clean_up(slow, name="test")
        assert done == [] and teardown.pending() == 1, "the caller goes on while it runs"
        release.set()
    assert done == [1] and teardown.pending() == 0


def test_one_clean_up_at_a_time_runs_beside_the_caller():
    order = []
    with teardown.overlapping():
        teardown.clean_up(lambda: (time.sleep(0.3), order.append("first")), name="first")
        teardown.clean_up(lambda: order.append("second"), name="second")
        assert order[0] == "first", "the second waits for the first"
    assert order == ["first", "second"]


def test_a_signal_at_the_end_does_not_cut_a_clean_up_short():
    done, signalled = [], threading.Event()
    main = threading.main_thread().ident

    def main_thread_settles() -> bool:
        frame = sys._current_frames().get(main)
        while frame is not None:
            if frame.f_code.co_name == "settle":
                return True
            frame = frame.f_back
        return False

    def interrupt_the_wait() -> None:
        while not main_thread_settles():
            time.sleep(0.01)
        signal.pthread_kill(main, signal.SIGINT)
        signalled.set()

    def clean_up() -> None:
        signalled.wait(30)
        time.sleep(0.2)
        done.append(1)

    threading.Thread(target=interrupt_the_wait, daemon=True).start()
    with teardown.overlapping():
        teardown.clean_up(clean_up, name="test")
    assert signalled.is_set() and done == [1]


def test_a_failing_clean_up_is_one_warning_not_a_traceback(caplog, capsys, monkeypatch):
    def fails() -> None:
        raise OSError("engine went away")

    # An in-process CLI run of an earlier test may have left rompy's console handler on a closed stream.
    monkeypatch.setattr(logging.getLogger("rompy"), "handlers", [])
    monkeypatch.setattr(logging.getLogger("rompy"), "propagate", True)

    with caplog.at_level(logging.WARNING, logger="rompy.runtime"), teardown.overlapping():
        teardown.clean_up(fails, name="remove container x")
    assert [r.getMessage() for r in caplog.records] == ["remove container x: engine went away"]
    assert "Traceback" not in capsys.readouterr().err


def test_a_forked_child_cleans_up_before_the_call_returns(tmp_path):
    marker = tmp_path / "removed"

    def remove() -> None:
        time.sleep(0.2)
        marker.write_text("gone")

    with teardown.overlapping():
        pid = os.fork()
        if pid == 0:
            try:
                teardown.clean_up(remove, name="child")
                os._exit(0 if marker.exists() else 1)
            finally:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's clean-up finished before it went on"


def test_what_follows_a_clean_up_runs_after_it_and_at_once_without_one():
    order, release = [], threading.Event()
    teardown.after(lambda: order.append("alone"), name="test")
    assert order == ["alone"], "nothing under way: at once"
    with teardown.overlapping():
        teardown.clean_up(lambda: (release.wait(10), order.append("removed")), name="remove")
        teardown.after(lambda: order.append("unregistered"), name="unregister")
        assert order == ["alone"], "it waits for the clean-up under way"
        release.set()
    assert order == ["alone", "removed", "unregistered"]
