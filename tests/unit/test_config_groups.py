"""Users' committed config groups: ./conf, ROMPY_CONFIG_PATH, then the shipped config."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.helpers.cli import read_record, run_rompy


def _group(folder, group, name, text):
    path = folder / group / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_new_group_option_in_local_conf_is_selectable(workdir):
    _group(workdir / "conf", "backend", "hpc", """\
        type: local
        timeout: 120
        command: echo from-hpc-config
        cpu: 2
        """)
    proc = run_rompy("backend=hpc", "run_id=h1", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "from-hpc-config" in proc.stdout
    assert read_record(workdir / "output/h1")["config"]["backend"]["cpu"] == 2


def test_local_conf_shadows_the_shipped_option(workdir):
    _group(workdir / "conf", "backend", "local", """\
        type: local
        timeout: 90
        command: echo shadowed-local
        """)
    proc = run_rompy("run_id=s1", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "shadowed-local" in proc.stdout


def test_rompy_config_path_is_searched_left_to_right_after_local_conf(workdir, tmp_path_factory):
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    _group(first, "backend", "team", "type: local\ncommand: echo from-first\n")
    _group(second, "backend", "team", "type: local\ncommand: echo from-second\n")
    _group(second, "backend", "only2", "type: local\ncommand: echo only-second\n")
    env = {"ROMPY_CONFIG_PATH": f"{first}:{second}"}
    assert "from-first" in run_rompy("backend=team", "run_id=p1", cwd=workdir, env=env).stdout
    assert "only-second" in run_rompy("backend=only2", "run_id=p2", cwd=workdir, env=env).stdout
    _group(workdir / "conf", "backend", "team", "type: local\ncommand: echo from-cwd\n")
    assert "from-cwd" in run_rompy("backend=team", "run_id=p3", cwd=workdir, env=env).stdout


def test_missing_rompy_config_path_entry_is_a_clear_error(workdir):
    proc = run_rompy(cwd=workdir, env={"ROMPY_CONFIG_PATH": str(workdir / "nope")})
    assert proc.returncode == 2
    assert "ROMPY_CONFIG_PATH" in proc.stderr and "nope" in proc.stderr


def test_an_unrelated_conf_config_yaml_is_not_picked_up(workdir):
    (workdir / "conf").mkdir()
    (workdir / "conf/config.yaml").write_text("backend: {type: nonsense}\nsomething_else: 1\n")
    proc = run_rompy("dry_run=true", cwd=workdir)
    assert proc.returncode == 0, proc.stderr


def test_config_dir_keeps_hydras_meaning(workdir, tmp_path_factory):
    extra = tmp_path_factory.mktemp("extra")
    _group(extra, "postprocessor", "mine", "type: summary\nfilename: mine.json\n")
    proc = run_rompy("--config-dir", str(extra), "postprocessor=mine", "run_id=cd", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "output/cd/mine.json").exists()


def test_other_hydra_apps_do_not_see_rompy_user_dirs(workdir):
    """The search-path plugin acts only for rompy: another app's ./conf stays its own."""
    _group(workdir / "conf", "db", "a", "k: from-user-dir\n")
    app_dir = workdir / "otherapp"
    _group(app_dir / "cfg", "db", "a", "k: from-app\n")
    (app_dir / "cfg/config.yaml").write_text("defaults:\n  - db: a\n  - _self_\n")
    (app_dir / "app.py").write_text(textwrap.dedent("""\
        import hydra
        @hydra.main(version_base="1.3", config_path="cfg", config_name="config")
        def main(cfg):
            print("value:", cfg.db.k)
        main()
        """))
    proc = subprocess.run([sys.executable, str(app_dir / "app.py"), "hydra.run.dir=.", "hydra.output_subdir=null"],
                          cwd=workdir, capture_output=True, text=True)
    assert "value: from-app" in proc.stdout, proc.stderr
