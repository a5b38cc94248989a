"""`rompy --help` documents every group, option and key from the models; `--info` stays Hydra's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rompy.config import RunConfig
from rompy.registry import BUILTINS, resolve
from tests.helpers.cli import REPO, clean_env, run


def help_text(cwd, *args, env=None) -> str:
    proc = run([sys.executable, "-m", "rompy", "--help", *args], cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


@pytest.fixture(scope="module")
def shipped_help(tmp_path_factory):
    return help_text(tmp_path_factory.mktemp("help"))


def test_every_group_and_option_is_listed(shipped_help):
    for folder in sorted((REPO / "conf").iterdir()):
        if not folder.is_dir():
            continue
        for path in folder.rglob("*.yaml"):
            group = "/".join(path.relative_to(REPO / "conf").parts[:-1])
            line = next((ln for ln in shipped_help.splitlines() if ln.startswith(f"{group}=")), None)
            assert line is not None, f"group {group} missing"
            assert path.stem in line.split("  ")[0].split("=", 1)[1].split("|"), (group, path.stem)


def test_every_key_has_its_model_description(shipped_help):
    for kind, types in BUILTINS.items():
        for type_name in types:
            cls = resolve(kind, type_name)
            for name, info in cls.model_fields.items():
                if name == "type":
                    continue
                assert info.description, f"{cls.__name__}.{name} has no description (help shows it)"
                assert f"{kind}.{name}=" in shipped_help, (kind, name)
                assert info.description.splitlines()[0] in shipped_help, (kind, name)


def test_root_keys_and_defaults(shipped_help):
    for name, info in RunConfig.model_fields.items():
        if name in BUILTINS:
            continue
        if name in ("sweep", "period"):  # a nested model: one row per key
            for sub, sub_info in info.annotation.model_fields.items():
                assert f"{name}.{sub}=" in shipped_help and sub_info.description in shipped_help
        else:
            assert f"  {name}=" in shipped_help and info.description in shipped_help, name
    assert "local (default)" in shipped_help and "noop (default)" in shipped_help
    assert "demo (default)" in shipped_help


def test_usage_examples_exit_codes_and_every_hydra_flag(shipped_help):
    from hydra._internal.utils import get_args_parser

    assert shipped_help.startswith("usage: rompy")
    assert "Examples:" in shipped_help and "Exit codes:" in shipped_help
    for code in ("0 ", "1 ", "2 ", "130", "143"):
        assert f"\n  {code}" in shipped_help
    flags_section = shipped_help.split("Hydra flags:", 1)[1]
    for action in get_args_parser()._actions:
        for flag in action.option_strings:
            assert flag in flags_section, f"Hydra flag {flag} not in rompy --help"


def test_users_options_from_conf_and_rompy_config_path(tmp_path):
    work = tmp_path / "work"
    (work / "conf" / "backend").mkdir(parents=True)
    (work / "conf" / "backend" / "hpc.yaml").write_text("# The cluster's login node.\ntype: local\ntimeout: 7200\n")
    (work / "conf" / "backend" / "local.yaml").write_text("type: local\ncpu: 8\n")
    extra = tmp_path / "team"
    (extra / "postprocessor").mkdir(parents=True)
    (extra / "postprocessor" / "broken.yaml").write_text("type: no_such_pkg.mod:Thing\n")
    (extra / "site").mkdir()
    (extra / "site" / "aws.yaml").write_text("# @package _global_\n# Our AWS defaults.\noutput_dir: /data\n")
    text = help_text(work, env=clean_env(ROMPY_CONFIG_PATH=str(extra)))
    assert "backend=docker|docker_build|hpc|local" in text
    assert "hpc (from ./conf): type local" in text
    assert "backend.timeout=7200" in text
    assert "local (default, from ./conf)" in text and "backend.cpu=8" in text  # shadows the shipped one
    assert "broken (from ROMPY_CONFIG_PATH): (cannot describe:" in text         # and --help still works
    assert "site=aws" in text and "Our AWS defaults." in text
    assert f"ROMPY_CONFIG_PATH  {extra}" in text


def test_config_dir_options_are_listed(tmp_path):
    extra = tmp_path / "extra" / "model"
    extra.mkdir(parents=True)
    (extra / "deep.yaml").write_text("type: demo\ndepths: [4000]\n")
    text = help_text(tmp_path, "--config-dir", str(tmp_path / "extra"))
    assert "deep (from --config-dir)" in text and "model.depths=[4000]" in text


def test_h_is_help(tmp_path):
    assert help_text(tmp_path) == run([sys.executable, "-m", "rompy", "-h"], cwd=tmp_path).stdout


def test_help_imports_neither_hydra_nor_docker(tmp_path):
    code = ("import sys; from rompy.cli import run_cli; run_cli(['--help']); "
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'docker', 'hydra', 'omegaconf'}); "
            "sys.stderr.write(repr(bad))")
    proc = run([sys.executable, "-c", code], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == "[]", proc.stderr


def test_help_into_a_closed_pipe_is_quiet(tmp_path):
    proc = subprocess.run(f"'{sys.executable}' -m rompy --help | head -1", shell=True, cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True, timeout=60)
    assert proc.stdout.startswith("usage: rompy") and "Traceback" not in proc.stderr, proc.stderr


def test_info_keeps_hydras_meaning(tmp_path):
    proc = run([sys.executable, "-m", "rompy", "--info"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for section in ("Installed Hydra Plugins", "Config search path", "Defaults List", "Config"):
        assert section in proc.stdout, section
    assert "RompySearchPathPlugin" in proc.stdout


def test_hydra_help_is_still_hydras(tmp_path):
    proc = run([sys.executable, "-m", "rompy", "--hydra-help"], cwd=tmp_path)
    assert proc.returncode == 0 and "Hydra (" in proc.stdout, proc.stdout
