"""Custom postprocessors and backends: by import path in a committed group, or by entry point."""

from __future__ import annotations

import textwrap

from tests.helpers.cli import read_record, run_rompy

PLUGIN_MODULE = '''\
from typing import Literal
from rompy.backends.base import BackendConfig
from rompy.backends.local import LocalConfig
from rompy.postprocess.base import PostprocessorConfig
from rompy.backends.base import BackendResult
from rompy.core.time import utcnow


class CountLines(PostprocessorConfig):
    type: str = "userplug:CountLines"
    pattern: str = "*.csv"

    def process(self, model_run, **kwargs):
        files = sorted(model_run.outputs_dir.glob(self.pattern))
        lines = sum(len(p.read_text().splitlines()) for p in files)
        return {"success": lines > 0, "message": f"{lines} lines", "lines": lines}


class AlwaysFails(PostprocessorConfig):
    type: str = "userplug:AlwaysFails"

    def process(self, model_run, **kwargs):
        return {"success": False, "message": "checked and rejected"}


class Careless(PostprocessorConfig):
    """Writes a file it never closes, held only by a reference cycle."""
    type: str = "userplug:Careless"

    def process(self, model_run, **kwargs):
        cycle = {"file": open(model_run.outputs_dir / "careless.txt", "w")}
        cycle["self"] = cycle
        cycle["file"].write("x" * 100_000 + "END")  # stays in the write buffer until the file is finalised
        object.__setattr__(self, "_kept", cycle)  # garbage only once rompy drops its config, at the very end
        return {"success": True}


class Recording(BackendConfig):
    """A backend that writes the command it was given instead of running it."""
    type: str = "userplug:Recording"
    marker: str = "x"

    def execute(self, job):
        now = utcnow()
        (job.run_dir / "outputs" / "recorded.txt").write_text(f"{self.marker}:{job.command}")
        return BackendResult(status="succeeded", exit_code=0, started_at=now, finished_at=utcnow(), duration_s=0.0)
'''


def _setup(workdir):
    (workdir / "userplug.py").write_text(PLUGIN_MODULE)
    for group, name, text in [
        ("postprocessor", "count", "type: userplug:CountLines\npattern: '*.csv'\n"),
        ("postprocessor", "reject", "type: userplug:AlwaysFails\n"),
        ("postprocessor", "reject_soft", "type: userplug:AlwaysFails\nfail_run: false\n"),
        ("postprocessor", "careless", "type: userplug:Careless\n"),
        ("backend", "recording", "type: userplug:Recording\nmarker: hello\ntimeout: 60\n"),
    ]:
        path = workdir / "conf" / group / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {"PYTHONPATH": str(workdir)}


def test_postprocessor_by_import_path(workdir):
    env = _setup(workdir)
    proc = run_rompy("postprocessor=count", "run_id=c1", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert read_record(workdir / "output/c1")["postprocess"]["lines"] == 7  # header + 6 rows


def test_unclosed_file_of_a_postprocessor_is_complete_after_exit(workdir):
    # rompy freezes the heap before the interpreter shuts down; garbage of the run must still be finalised.
    env = _setup(workdir)
    proc = run_rompy("postprocessor=careless", "run_id=careless", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output/careless/outputs/careless.txt").read_text().endswith("END")


def test_failed_postprocessor_fails_the_run_unless_fail_run_false(workdir):
    env = _setup(workdir)
    proc = run_rompy("postprocessor=reject", "run_id=f1", cwd=workdir, env=env)
    assert proc.returncode == 1
    record = read_record(workdir / "output/f1")
    assert (record["status"], record["failed_stage"]) == ("failed", "postprocess")
    assert "checked and rejected" in proc.stderr
    proc = run_rompy("postprocessor=reject_soft", "run_id=f2", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert read_record(workdir / "output/f2")["status"] == "succeeded"


def test_custom_backend_goes_through_the_same_path(workdir):
    env = _setup(workdir)
    proc = run_rompy("backend=recording", "run_id=b1", "backend.marker=bye", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    run_dir = workdir / "output/b1"
    assert (run_dir / "outputs/recorded.txt").read_text() == "bye:['python3', 'wave_dispersion.py', 'INPUT']"
    record = read_record(run_dir)
    assert record["config"]["backend"]["type"] == "userplug:Recording"
    assert record["status"] == "succeeded"
    bad = run_rompy("backend=recording", "backend.timeout=1", cwd=workdir, env=env)
    assert bad.returncode == 2 and "backend.timeout" in bad.stderr


def test_bad_import_path_is_a_clear_error(workdir):
    (workdir / "conf/postprocessor").mkdir(parents=True)
    (workdir / "conf/postprocessor/typo.yaml").write_text("type: nosuchmodule:Thing\n")
    proc = run_rompy("postprocessor=typo", cwd=workdir)
    assert proc.returncode == 2
    assert "postprocessor.type" in proc.stderr and "nosuchmodule" in proc.stderr


def test_entry_point_registered_postprocessor(workdir):
    """A real installed distribution (a dist-info on sys.path) registers `countlines`."""
    env = _setup(workdir)
    site = workdir / "site"
    dist = site / "userplug_dist-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: userplug-dist\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [rompy.postprocessors]
        countlines = userplug:CountLines

        [rompy.postprocess.config]
        legacy_fail = userplug:AlwaysFails

        [rompy.backends]
        recorder = userplug:Recording
        """))
    env["PYTHONPATH"] = f"{site}:{workdir}"
    (workdir / "conf/postprocessor/ep.yaml").write_text("type: countlines\n")
    (workdir / "conf/postprocessor/legacy.yaml").write_text("type: legacy_fail\n")
    proc = run_rompy("postprocessor=ep", "run_id=e1", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert read_record(workdir / "output/e1")["postprocess"]["lines"] == 7
    proc = run_rompy("postprocessor=legacy", "run_id=e2", cwd=workdir, env=env)
    assert proc.returncode == 1  # found through upstream's group, and it fails the run
    (workdir / "conf/backend/ep.yaml").write_text("type: recorder\nmarker: via-entry-point\n")
    proc = run_rompy("backend=ep", "run_id=e3", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output/e3/outputs/recorded.txt").read_text().startswith("via-entry-point:")
