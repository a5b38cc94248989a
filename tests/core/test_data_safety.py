"""Nothing on disk is lost: collisions, concurrent runs, atomic records, a full disk."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.helpers.cli import read_record, rompy_cmd, run_rompy


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
def tmpfs(tmp_path):
    """mount(name, options) -> a fresh tmpfs folder; unmounted after the test. Needs root (CI runs as root)."""
    mounts = []

    def mount(name: str, options: str):
        if os.geteuid() != 0:
            pytest.fail("this test mounts a tmpfs and needs root (CI runs as root)")
        folder = tmp_path / name
        folder.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
        mounts.append(folder)
        return folder

    yield mount
    for folder in mounts:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def tiny_disk(tmpfs):
    return tmpfs("tiny", "size=128k")


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


@pytest.fixture
def read_only_dir(tmpfs):
    """A read-only filesystem: refused even to root, as a colleague's folder is refused to a user."""
    return tmpfs("ro", "ro,size=64k")


UNWRITABLE = ["read-only filesystem", "below a file"]


@pytest.fixture(params=UNWRITABLE)
def unwritable_output(request, workdir):
    if request.param == "below a file":
        (workdir / "a-file").write_text("not a folder")
        return workdir / "a-file" / "out", "is not a directory"
    return request.getfixturevalue("read_only_dir") / "out", "is not writable"


@pytest.mark.parametrize("command", [[], ["dry_run=true"], ["-m", "model.g=9,10"], ["-m", "model.g=9,10", "dry_run=true"]],
                         ids=["run", "dry-run", "sweep", "dry-run sweep"])
def test_an_unwritable_output_dir_is_one_line_before_anything_runs(workdir, unwritable_output, command):
    output, reason = unwritable_output
    proc = run_rompy(*command, f"output_dir={output}", "backend.command='touch ../../ran'", cwd=workdir)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr and 1 <= len(lines) <= 2, proc.stderr  # a sweep: one line per member
    assert all("output_dir" in line and reason in line for line in lines), proc.stderr
    assert not (workdir / "ran").exists()


def test_dry_run_checks_the_run_directory_but_creates_nothing(workdir):
    assert run_rompy("run_id=taken", "backend.command='true'", cwd=workdir).returncode == 0
    before = sorted(p.name for p in (workdir / "output").iterdir())
    proc = run_rompy("run_id=taken", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2 and "run directory" in proc.stderr and "already exists" in proc.stderr
    assert run_rompy("run_id=new", "dry_run=true", f"output_dir={workdir / 'fresh' / 'deep'}", cwd=workdir).returncode == 0
    assert not (workdir / "fresh").exists()
    assert sorted(p.name for p in (workdir / "output").iterdir()) == before


def test_records_and_summaries_follow_the_umask(workdir):
    """Colleagues sharing a project folder can read the records (umask 022 here: 0644, like the run's other files)."""
    proc = run_rompy("-m", "model.g=9,10", "backend.command='true'", "hydra.sweep.dir=sweep", cwd=workdir,
                     preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    written = [*workdir.glob("output/*/rompy-result.json"), workdir / "sweep" / "summary.json",
               workdir / "sweep" / "results.jsonl"]
    assert len(written) == 4
    for path in written:
        assert oct(path.stat().st_mode & 0o777) == oct(0o644), path
    proc = run_rompy("run_id=shared", "backend.command='true'", cwd=workdir, preexec_fn=lambda: os.umask(0o002))
    assert proc.returncode == 0
    assert oct((workdir / "output/shared/rompy-result.json").stat().st_mode & 0o777) == oct(0o664)


def test_an_unwritable_state_dir_is_one_line_before_anything_runs(workdir, read_only_dir):
    proc = run_rompy("run_id=nostate", "backend.command='touch ran'", cwd=workdir,
                     env={"ROMPY_STATE_DIR": str(read_only_dir / "state")})
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("rompy: error: ROMPY_STATE_DIR: ") and "is not writable" in line
    assert not (workdir / "output").exists()
