"""Nothing on disk is lost: collisions, concurrent runs, atomic records, a full disk."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.conftest import read_record, rompy_cmd, run_rompy


def test_two_concurrent_runs_with_one_run_id_one_proceeds(workdir, figures):
    cmd = rompy_cmd("run_id=same", "backend.command='echo $$ > outputs/owner.txt; sleep 2'")
    procs = [subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[2] == 2)
    assert "already exists" in loser[1] and "Traceback" not in loser[1]
    run_dir = workdir / "output/same"
    assert read_record(run_dir)["status"] == "succeeded"
    assert len((run_dir / "outputs/owner.txt").read_text().split()) == 1
    figures.record("two concurrent runs with one run id", runs=2, proceeded=1, refused=1, mixed_files=0)


def test_record_is_always_complete_json_while_a_run_progresses(workdir):
    proc = subprocess.Popen(rompy_cmd("run_id=atomic", "backend.command='sleep 2'"), cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    record = workdir / "output/atomic/rompy-result.json"
    reads = 0
    while proc.poll() is None:
        if record.exists():
            json.loads(record.read_text())  # never half a file
            reads += 1
        time.sleep(0.005)
    json.loads(record.read_text())
    assert reads > 10
    assert [p.name for p in record.parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.fixture
def tiny_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the full-disk test mounts a tmpfs and needs root (CI runs as root)")
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_during_the_run(workdir, tiny_disk, figures):
    proc = run_rompy(f"output_dir={tiny_disk}", "run_id=full",
                     "backend.command='head -c 1000000 /dev/zero > outputs/big'", cwd=workdir)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "No space left on device" in proc.stderr
    record = read_record(tiny_disk / "full")
    assert record["status"] == "failed" and record["failed_stage"] == "run"
    figures.record("disk fills up during the run (128 KiB tmpfs)", faults_injected=1, tracebacks=0,
                   record_status=record["status"])


def test_full_disk_while_staging(workdir, tiny_disk):
    (tiny_disk / "filler").write_bytes(b"\0" * (124 * 1024))
    proc = run_rompy(f"output_dir={tiny_disk}", "run_id=nostage", cwd=workdir)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "cannot stage the run directory" in proc.stderr and "No space left on device" in proc.stderr
    assert (tiny_disk / "filler").stat().st_size == 124 * 1024, "existing files are untouched"
