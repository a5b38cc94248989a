"""A broken config file of the user's: one line naming file, line and column, exit 2, in every command."""

from __future__ import annotations

import os
import sys

import pytest

from tests.helpers.cli import clean_env, complete, read_record, run, run_rompy

BROKEN = {
    # file content, the line rompy must print after "rompy: error: "
    "indent": (b"type: local\ntimeout: 600\nenv_vars:\n  A: 1\n   B: [2\n",
               "conf/backend/broken.yaml:5:5: mapping values are not allowed here"),
    "duplicate": (b"type: local\ntimeout: 600\ntimeout: 700\n",
                  "conf/backend/broken.yaml:3:1: found duplicate key timeout"),
    "not-utf8": (b"type: local\ncommand: caf\xe9\n",
                 "conf/backend/broken.yaml:2:13: byte 0xe9 is not UTF-8 (save the file as UTF-8)"),
    "unclosed": (b"type: local\ncommand: [echo\n", "conf/backend/broken.yaml:3:1: expected ',' or ']', but got '<stream end>'"),
    "control": (b"type: local\ncommand: a\x07b\n",
                "conf/backend/broken.yaml:2:11: character U+0007 is not allowed in YAML"),
}


@pytest.fixture(params=sorted(BROKEN))
def broken(request, workdir):
    content, expected = BROKEN[request.param]
    (workdir / "conf" / "backend").mkdir(parents=True)
    (workdir / "conf" / "backend" / "broken.yaml").write_bytes(content)
    return expected


def one_error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_single_run(workdir, broken):
    proc = run_rompy("backend=broken", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2
    assert one_error_line(proc) == f"rompy: error: {broken}"
    proc = run_rompy("backend=broken", cwd=workdir)
    assert proc.returncode == 2 and one_error_line(proc) == f"rompy: error: {broken}"
    assert not (workdir / "output").exists()


def test_sweep_stops_before_any_member_runs(workdir, broken):
    proc = run_rompy("-m", "backend=local,broken", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 2
    assert one_error_line(proc) == f"rompy: error: member 1 (backend=broken backend.command='true'): {broken}"
    assert not (workdir / "output").exists(), "the valid member must not have run either"


def test_help_shows_the_option_as_broken(workdir, broken):
    proc = run_rompy("--help", cwd=workdir)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert f"  broken (from ./conf): (broken: {broken})" in proc.stdout.splitlines()


def test_completion_says_it_in_one_line(workdir, broken, rompy_script):
    line = "rompy backend=broken backend."
    proc = run([str(rompy_script), "-sc", "query=bash"], cwd=workdir,
               env=clean_env(COMP_LINE=line, COMP_POINT=str(len(line))))
    assert proc.returncode == 2
    assert one_error_line(proc) == f"rompy: error: {broken}"
    assert complete("rompy backend=lo", workdir) == ["backend=local"], "other completions still work"


def test_a_config_dir_and_rompy_config_path_are_read_the_same_way(workdir):
    for folder in ("extra", "more"):
        (workdir / folder / "model").mkdir(parents=True)
    (workdir / "extra" / "model" / "bad.yaml").write_text("type: demo\ndepths: [1\n")
    (workdir / "more" / "model" / "worse.yaml").write_text("type: demo\n g: 1\n")
    proc = run_rompy("--config-dir", "extra", "model=bad", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2
    assert one_error_line(proc).startswith("rompy: error: extra/model/bad.yaml:3:1: ")
    proc = run_rompy("model=worse", "dry_run=true", cwd=workdir,
                     env={"ROMPY_CONFIG_PATH": str(workdir / "more")})
    assert proc.returncode == 2
    assert one_error_line(proc) == "rompy: error: more/model/worse.yaml:2:3: mapping values are not allowed here"


def test_a_file_outside_the_current_folder_is_named_by_its_full_path(workdir, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("shared-configs")
    (elsewhere / "model").mkdir()
    (elsewhere / "model" / "bad.yaml").write_text("type: demo\n  g: 1\n")
    proc = run_rompy("model=bad", "dry_run=true", cwd=workdir, env={"ROMPY_CONFIG_PATH": str(elsewhere)})
    assert proc.returncode == 2
    assert one_error_line(proc).startswith(f"rompy: error: {elsewhere / 'model' / 'bad.yaml'}:2:")


@pytest.mark.parametrize("entry", ["python", "console"])
def test_python_m_and_the_console_script_find_a_module_in_the_current_folder(workdir, rompy_script, entry):
    (workdir / "mypkg").mkdir()
    (workdir / "mypkg" / "__init__.py").write_text("")
    (workdir / "mypkg" / "post.py").write_text(
        "from rompy.postprocess.base import PostprocessorConfig\n"
        "class MyPost(PostprocessorConfig):\n"
        "    type: str = 'mypkg.post:MyPost'\n"
        "    def process(self, model_run, **kwargs):\n"
        "        return {'success': True, 'message': 'mine'}\n")
    argv = [sys.executable, "-m", "rompy"] if entry == "python" else [str(rompy_script)]
    env = clean_env()
    env.pop("PYTHONPATH", None)
    proc = run([*argv, "postprocessor.type=mypkg.post:MyPost", "run_id=mine"], cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert read_record(workdir / "output" / "mine")["postprocess"]["message"] == "mine"


def test_python_m_rompy_completes_with_the_registered_function(workdir):
    import subprocess

    line = "python3 -m rompy backend=docker backend.pull"
    driver = (
        'eval "$(rompy -sc install=bash)"\n'
        'complete -o nospace -o default -F rompy_python_m_completion python3\n'
        f'COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=($COMP_LINE); COMP_CWORD=4\n'
        'rompy_python_m_completion\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = clean_env()
    env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"  # python3 = this interpreter
    proc = subprocess.run(["bash", "-c", driver], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["backend.pull_policy="]


@pytest.mark.parametrize("sweep", [[], ["-m", "model.depths=[10],[20]"]])
def test_a_primary_config_of_ones_own_without_the_groups_is_one_line(workdir, sweep):
    """`conf/rompy.yaml` holding only `output_dir: sims` said "dry_run: unknown key; did you mean
    'dry_run'?", and a run without dry_run left Hydra's `outputs/` folder behind."""
    from rompy.cli.searchpath import shipped_conf_dir

    (workdir / "conf").mkdir()
    (workdir / "conf" / "rompy.yaml").write_text("output_dir: sims\n")
    for extra in (["dry_run=true"], []):
        proc = run_rompy(*sweep, *extra, cwd=workdir)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [
            f"rompy: error: {workdir / 'conf' / 'rompy.yaml'} replaces rompy's primary config, and its defaults "
            "list selects no backend, postprocessor, model; start it from a copy of "
            f"{shipped_conf_dir() / 'rompy.yaml'}, or keep only config groups in that folder"]
        assert sorted(p.name for p in workdir.iterdir()) == ["conf"], "nothing created"
    shipped = (shipped_conf_dir() / "rompy.yaml").read_text()
    (workdir / "conf" / "rompy.yaml").write_text(shipped.replace("output_dir: output", "output_dir: sims"))
    proc = run_rompy(*sweep, "run_id=own", "sweep.progress=off", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "sims").is_dir() and not (workdir / "output").exists()


def test_a_root_key_left_out_of_ones_own_primary_config_is_not_a_misspelling(workdir):
    """It said "dry_run: unknown key; did you mean 'dry_run'?"."""
    from rompy.cli.searchpath import shipped_conf_dir

    shipped = (shipped_conf_dir() / "rompy.yaml").read_text()
    (workdir / "conf").mkdir()
    (workdir / "conf" / "rompy.yaml").write_text(shipped.replace("dry_run: false\n", ""))
    proc = run_rompy("dry_run=true", cwd=workdir)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("rompy: error: dry_run: unknown key in this primary config; add 'dry_run:' to "
                                   "it, as the shipped rompy.yaml has, or use '+dry_run=...'")
