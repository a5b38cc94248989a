"""Your model, first class: the period from the command line, the template model, your own classes,
runs that can be run again, and the API as rompy's users write it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.helpers.cli import REPO, read_record, run_rompy

UPSTREAM_LIKE = "{{runtime.staging_dir}}"


def one_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    return lines[0]


# -- the period ------------------------------------------------------------------------
def test_the_period_is_set_on_the_command_line_given_to_the_model_and_recorded(workdir):
    proc = run_rompy("run_id=p1", "period.start=2023-01-01T00", "period.duration=2d", "period.interval=1h",
                     "backend.command='true'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    given = json.loads((workdir / "output/p1/INPUT").read_text())["period"]  # the demo model writes what it got
    assert given["start"] == "2023-01-01T00:00:00" and given["end"] == "2023-01-03T00:00:00"
    assert read_record(workdir / "output/p1")["config"]["period"]["interval"] == "PT1H"


def test_the_default_period_is_as_before(workdir):
    proc = run_rompy("run_id=p0", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    period = read_record(workdir / "output/p0")["config"]["period"]
    assert (period["start"], period["end"], period["interval"]) == ("2020-02-21T04:00:00", "2020-02-24T04:00:00", "PT15M")


@pytest.mark.parametrize("overrides,start,end", [
    (["period.end=2020-02-22"], "2020-02-21T04:00:00", "2020-02-22T00:00:00"),
    (["period.start=20230101T06"], "2023-01-01T06:00:00", "2023-01-04T06:00:00"),
    (["period.end=2023-01-10", "period.duration=1d"], "2023-01-09T00:00:00", "2023-01-10T00:00:00"),
], ids=["end alone", "start alone", "end and duration"])
def test_what_the_command_line_sets_of_a_period_wins(workdir, overrides, start, end):
    proc = run_rompy(*overrides, "dry_run=true", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    shown = yaml.safe_load(proc.stdout)["period"]
    assert (shown["start"], shown["end"]) == (start, end)


@pytest.mark.parametrize("override,fragment", [
    ("period.start=1546300800", "numbers are not read as Unix timestamps"),
    ("period.duration=1mo", "months and years have no fixed length"),
    ("period.interval=often", "unknown unit 'often'"),
])
def test_a_bad_period_is_one_line(workdir, override, fragment):
    proc = run_rompy(override, "dry_run=true", cwd=workdir)
    assert proc.returncode == 2
    line = one_line(proc)
    assert line.startswith(f"rompy: error: {override.split('=')[0]} = ") and fragment in line
    assert f"set by override '{override}'" in line


def test_a_sweep_over_the_period(workdir):
    proc = run_rompy("-m", "period.start=2023-01-01,2023-02-01", "period.duration=1d", "hydra.sweep.dir=sweep",
                     "backend.command='true'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    starts = sorted(read_record(Path(m["run_dir"]))["config"]["period"]["start"]
                    for m in json.loads((workdir / "sweep/summary.json").read_text())["members"])
    assert starts == ["2023-01-01T00:00:00", "2023-02-01T00:00:00"]


def test_help_and_schema_show_the_period(workdir):
    proc = run_rompy("--help", cwd=workdir)
    assert "period.start=2020-02-21T04:00:00" in proc.stdout and "period.interval=15min" in proc.stdout
    schema = json.loads((REPO / "schemas/rompy.json").read_text())
    assert "period" in schema["properties"] and "interval" in schema["$defs"]["TimeRange"]["properties"]


# -- the template model ------------------------------------------------------------------
@pytest.fixture
def upstream_template(workdir) -> Path:
    """A template folder in upstream rompy's cookiecutter layout."""
    root = workdir / "base" / UPSTREAM_LIKE
    (root / "datasets").mkdir(parents=True)
    (root / "INPUT").write_text(
        "run_id: '{{runtime.run_id}}'\n"
        "compute_start: {{runtime.period.start.strftime(runtime._datefmt)}}\n"
        "compute_interval: {{runtime.period.interval.seconds/3600}} HR\n"
        "compute_stop: {{runtime.period.end.strftime(runtime._datefmt)}}\n"
        "template: {{_template}}; nx: {{config.nx}}\n")
    (root / "datasets" / "readme.md").write_text("data for {{ runtime.run_id }}\n")
    (root / "run.sh").write_text("#!/bin/sh\necho ran in $(pwd) >&2\ncp INPUT outputs/seen.txt\n")
    (root / "run.sh").chmod(0o755)
    (root / "grid.bin").write_bytes(b"\x00\xff{{ not a template }}\xfe")
    return workdir / "base"


def test_an_upstream_template_folder_renders_unchanged_and_its_command_runs(workdir, upstream_template):
    proc = run_rompy("model=template", f"model.template={upstream_template}", "model.command=./run.sh",
                     "+model.params.nx=42", "run_id=t1", "period.start=20230101", "period.duration=12h",
                     "period.interval=3h", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    run_dir = workdir / "output/t1"
    assert (run_dir / "INPUT").read_text() == (
        "run_id: 't1'\ncompute_start: 20230101.000000\ncompute_interval: 3.0 HR\ncompute_stop: 20230101.120000\n"
        f"template: {upstream_template}; nx: 42\n")
    assert (run_dir / "datasets/readme.md").read_text() == "data for t1\n"
    assert (run_dir / "grid.bin").read_bytes() == b"\x00\xff{{ not a template }}\xfe", "binary files are copied"
    assert os.access(run_dir / "run.sh", os.X_OK)
    assert (run_dir / "outputs/seen.txt").read_text() == (run_dir / "INPUT").read_text()
    assert f"ran in {run_dir.resolve()}" in proc.stderr, "the command runs from the run directory"


def test_inputs_are_staged_by_copy_or_link_with_their_checksums(workdir, upstream_template):
    (workdir / "bathy.nc").write_bytes(b"bathymetry" * 100)
    (workdir / "forcing").mkdir()
    (workdir / "forcing" / "wind.txt").write_text("10 m/s\n")
    proc = run_rompy("model=template", f"model.template={upstream_template}", "model.command=./run.sh",
                     "+model.params.nx=1", "run_id=t2",
                     "model.inputs=[{src: bathy.nc}, {src: forcing, dest: data/forcing, link: true}]", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    run_dir = workdir / "output/t2"
    assert (run_dir / "datasets/bathy.nc").read_bytes() == b"bathymetry" * 100
    assert (run_dir / "data/forcing").is_symlink() and (run_dir / "data/forcing/wind.txt").read_text() == "10 m/s\n"
    inputs = read_record(run_dir)["inputs"]
    assert inputs[0] == {"src": str(workdir / "bathy.nc"), "dest": "datasets/bathy.nc", "link": False,
                         "sha256": hashlib.sha256(b"bathymetry" * 100).hexdigest(), "bytes": 1000}
    assert inputs[1]["dest"] == "data/forcing" and inputs[1]["link"] is True and len(inputs[1]["sha256"]) == 64


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "run"])
@pytest.mark.parametrize("content,expected", [
    ("a = {{ config.nx }}\nb = {{ config.nope }}\n", "model.nml:2: 'dict object' has no attribute 'nope'"),
    ("a = {{ config.nx \n", "model.nml:1: unexpected end of template"),
    ("{% for t in runtime.period.date_range %}\n{{ t.strftime(1) }}\n{% endfor %}\n", "model.nml:2: TypeError"),
], ids=["undefined", "syntax", "expression"])
def test_template_errors_are_one_line_with_file_and_line_and_create_nothing(workdir, content, expected, dry_run):
    (workdir / "tpl").mkdir()
    (workdir / "tpl" / "model.nml").write_text(content)
    proc = run_rompy("model=template", "model.template=tpl", "model.command=./model", "+model.params.nx=1",
                     *(["dry_run=true"] if dry_run else []), cwd=workdir)
    assert proc.returncode == 2
    line = one_line(proc)
    assert line.startswith(f"rompy: error: {workdir / 'tpl'}/") or line.startswith("rompy: error: tpl/"), line
    assert expected in line
    assert not (workdir / "output").exists()


def test_a_missing_input_or_template_names_it(workdir, upstream_template):
    proc = run_rompy("model=template", f"model.template={upstream_template}", "model.command=./run.sh",
                     "model.inputs=[{src: missing.nc}]", cwd=workdir)
    assert proc.returncode == 2
    assert "model.inputs.0.src = 'missing.nc': no such file or folder" in one_line(proc)
    proc = run_rompy("model=template", "model.template=nowhere", "model.command=./run.sh", cwd=workdir)
    assert proc.returncode == 2 and "model.template = 'nowhere': not a folder of templates" in one_line(proc)
    assert not (workdir / "output").exists()


def test_environment_references_are_rendered_as_references(workdir):
    (workdir / "tpl").mkdir()
    (workdir / "tpl" / "settings.txt").write_text("token = {{ config.token }}\n")
    proc = run_rompy("model=template", "model.template=tpl", "model.command='true'", "run_id=s1",
                     "+model.params.token=${oc.env:MODEL_TOKEN}", cwd=workdir, env={"MODEL_TOKEN": "s3cr3t-8841"})
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output/s1/settings.txt").read_text() == "token = ${oc.env:MODEL_TOKEN}\n"
    assert "s3cr3t-8841" not in "".join(p.read_text(errors="replace") for p in (workdir / "output/s1").rglob("*")
                                        if p.is_file())


def test_checkout_renders_a_version_of_a_git_repository(workdir):
    repo = workdir / "tpl"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "version.txt").write_text("version one\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    subprocess.run([*git, "tag", "v1"], check=True)
    (repo / "version.txt").write_text("version two\n")
    proc = run_rompy("model=template", "model.template=tpl", "model.checkout=v1", "model.command='true'", "run_id=v1",
                     cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output/v1/version.txt").read_text() == "version one\n"
    proc = run_rompy("model=template", "model.template=tpl", "model.checkout=v9", "model.command='true'", cwd=workdir)
    assert proc.returncode == 2 and "model.checkout: cannot check out 'v9'" in one_line(proc)


def test_the_template_model_runs_on_docker_too(workdir, fake_docker, upstream_template):
    proc = run_rompy("model=template", f"model.template={upstream_template}", "model.command=./run.sh",
                     "+model.params.nx=7", "run_id=d1", "backend=docker", "backend.image=busybox", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output/d1/outputs/seen.txt").read_text().endswith("nx: 7\n")


# -- your own classes --------------------------------------------------------------------
def test_a_users_class_gets_a_schema_and_an_entry_point(workdir):
    package = workdir / "site" / "my_models"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent("""
        from pydantic import Field
        from rompy.config import ModelConfig

        class Tide(ModelConfig):
            type: str = "tide"
            amplitude_m: float = Field(1.0, gt=0, description="Tidal amplitude in metres.")

            def render_input(self, context):
                return f"amplitude={self.amplitude_m}\\n"

            def model_command(self):
                return "cat INPUT"
    """))
    info = workdir / "site" / "my_models-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-models\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[rompy.config]\ntide = my_models:Tide\n")  # upstream's group
    env = {"PYTHONPATH": str(workdir / "site")}
    schema = subprocess.run([sys.executable, "-m", "rompy.schema", "my_models:Tide"],
                            cwd=workdir, env={**os.environ, **env}, capture_output=True, text=True)
    assert schema.returncode == 0, schema.stderr
    assert json.loads(schema.stdout)["properties"]["amplitude_m"]["description"] == "Tidal amplitude in metres."
    proc = run_rompy("model.type=tide", "~model.depths", "~model.periods", "~model.g", "+model.amplitude_m=2.5",
                     "run_id=ep", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "amplitude=2.5" in proc.stdout
    # other installed plugins (rompy-veros) may be listed beside it
    assert re.search(r"from plugins: [^;]*\btide\b", run_rompy("--help", cwd=workdir, env=env).stdout)


# -- running a run again ------------------------------------------------------------------
def _same_run(original: dict, replay: dict) -> None:
    for key in ("model", "period", "backend", "postprocessor"):
        assert replay["config"][key] == original["config"][key], key
    assert replay["run_id"] != original["run_id"] and replay["status"] == "succeeded"


def _replay(workdir, run_dir: Path, env: dict | None = None) -> dict:
    before = {p.name for p in (workdir / "output").iterdir()}
    proc = run_rompy("--config-dir", str(run_dir), "--config-name", "rompy-config", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    (new,) = {p.name for p in (workdir / "output").iterdir()} - before
    return read_record(workdir / "output" / new)


def test_a_cli_run_runs_again_from_its_saved_config(workdir):
    proc = run_rompy("run_id=c1", "delete_existing=true", "postprocessor=summary", "period.start=20230101",
                     "+backend.env_vars.API_TOKEN=${oc.env:API_TOKEN}", "backend.command='true'", cwd=workdir,
                     env={"API_TOKEN": "tok-5521"})
    assert proc.returncode == 0, proc.stderr
    saved = (workdir / "output/c1/rompy-config.yaml").read_text()
    assert "tok-5521" not in saved and "${oc.env:API_TOKEN}" in saved and "delete_existing: false" in saved
    _same_run(read_record(workdir / "output/c1"), _replay(workdir, workdir / "output/c1", {"API_TOKEN": "other"}))


def test_an_api_run_runs_again_from_its_saved_config(workdir):
    script = textwrap.dedent("""
        from rompy.backends import LocalConfig
        from rompy.core.time import TimeRange
        from rompy.model import ModelRun

        model = ModelRun(run_id="a1", output_dir="output", delete_existing=True,
                         period=TimeRange(start="20230101", duration="1d", interval="1h"))
        assert model.run(backend=LocalConfig(timeout=600, command="true", env_vars={"API_TOKEN": "tok-7730"}))
        model.postprocess(processor="summary")
    """)
    subprocess.run([sys.executable, "-c", script], cwd=workdir, check=True)
    saved = (workdir / "output/a1/rompy-config.yaml").read_text()
    assert "tok-7730" not in saved and "delete_existing: false" in saved and "timeout: 600" in saved
    original = read_record(workdir / "output/a1")
    replay = _replay(workdir, workdir / "output/a1", {"API_TOKEN": "tok-7730"})
    _same_run({**original, "config": {**original["config"], "backend": {
        **original["config"]["backend"], "env_vars": {"API_TOKEN": "***"}}}}, replay)


def test_a_sweep_member_runs_again_from_its_saved_config(workdir):
    proc = run_rompy("-m", "model.periods=4,8", "hydra.sweep.dir=sweep", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    member = json.loads((workdir / "sweep/summary.json").read_text())["members"][1]
    _same_run(read_record(Path(member["run_dir"])), _replay(workdir, Path(member["run_dir"])))


# -- the API as users write it -------------------------------------------------------------
def test_paths_are_accepted_wherever_a_path_goes(tmp_path):
    from rompy.backends import DockerConfig, LocalConfig, SlurmConfig

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert LocalConfig(working_dir=tmp_path).working_dir == str(tmp_path)
    docker = DockerConfig(dockerfile=Path("Dockerfile"), build_context=tmp_path, volumes=[tmp_path])
    assert docker.build_context == str(tmp_path) and docker.volumes == [f"{tmp_path}:{tmp_path}"]
    assert SlurmConfig(working_dir=tmp_path).working_dir == str(tmp_path)


def test_unknown_keywords_to_run_are_refused(tmp_path):
    from rompy.backends import LocalConfig
    from rompy.model import ModelRun

    with pytest.raises(TypeError, match="'bogus'"):
        ModelRun(run_id="k", output_dir=tmp_path).run(LocalConfig(), bogus=1)
    assert not (tmp_path / "k").exists()
