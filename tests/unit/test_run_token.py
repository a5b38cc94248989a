"""Finding what a run started by the token in its environment, however few or many processes ran since."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from rompy.runtime import processes
from rompy.runtime.processes import TOKEN_VARIABLE, processes_with_token

# A model that starts threads and a child of its own, then waits: the child holds the token too.
MODEL = (
    "import subprocess, sys, threading, time\n"
    "for _ in range(4):\n"
    "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def model():
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-c", MODEL], env={**os.environ, TOKEN_VARIABLE: token},
                            stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(0.2)  # the threads are up
    yield token, proc, child
    for pid in (child, proc.pid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    proc.wait()


@pytest.mark.parametrize("probed", [64, 0], ids=["pids-since-the-model", "every-process"])
def test_the_model_and_its_child_are_found_and_its_threads_are_not_counted(model, monkeypatch, probed):
    token, proc, child = model
    monkeypatch.setattr(processes, "PROBED_PIDS", probed)  # 0: always list /proc
    found = processes_with_token(token, born_after=proc.pid)
    assert sorted(found) == sorted([proc.pid, child])
    assert sorted(processes_with_token(token)) == sorted([proc.pid, child])
    assert processes_with_token(uuid.uuid4().hex, born_after=proc.pid) == []
