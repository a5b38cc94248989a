"""Hydra's shell completion, driven through the installed `rompy` console script.

The bash test sources the script `rompy --shell-completion install=bash` prints and
calls its completion function the way bash does on <TAB>: COMP_LINE, COMP_POINT,
COMP_CWORD set, COMPREPLY read back.
"""

from __future__ import annotations

import shutil

import pytest

from tests.helpers.cli import clean_env, complete, run

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


def test_install_prints_the_bash_completion_script(rompy_script, workdir):
    proc = run([str(rompy_script), "--shell-completion", "install=bash"], cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "hydra_bash_completion()" in proc.stdout
    assert "complete -o nospace -o default -F hydra_bash_completion rompy" in proc.stdout


def test_group_names(workdir):
    assert complete("rompy back", workdir) == ["backend.", "backend="]
    assert "postprocessor=" in complete("rompy post", workdir)


def test_group_options(workdir):
    assert complete("rompy backend=", workdir) == ["backend=docker", "backend=docker_build", "backend=local", "backend=slurm"]
    shipped = ["postprocessor=archive", "postprocessor=noop", "postprocessor=summary"]
    offered = complete("rompy postprocessor=", workdir)
    assert [option for option in offered if option in shipped] == shipped
    # and those of installed plugin packages (plugins/rompy-veros, which scripts/install.sh installs)
    assert set(offered) - set(shipped) <= {"postprocessor=veros_summary"}


def test_config_keys(workdir):
    assert complete("rompy backend.ti", workdir) == ["backend.timeout="]
    assert complete("rompy dry", workdir) == ["dry_run="]
    assert complete("rompy sweep.fail", workdir) == ["sweep.fail_fast="]
    # keys of the option chosen earlier on the line
    assert complete("rompy backend=docker backend.pull", workdir) == ["backend.pull_policy="]


def test_completion_offers_the_users_own_options(workdir):
    (workdir / "conf" / "backend").mkdir(parents=True)
    (workdir / "conf" / "backend" / "hpc.yaml").write_text("type: local\ntimeout: 7200\n")
    assert "backend=hpc" in complete("rompy backend=", workdir)


def test_query_answers_like_the_generated_function_asks(rompy_script, workdir):
    """`rompy -sc query=bash` with COMP_LINE set: what the bash function calls."""
    env = clean_env(COMP_LINE="rompy backend=", COMP_POINT=str(len("rompy backend=")))
    proc = run([str(rompy_script), "-sc", "query=bash"], cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["backend=docker", "backend=docker_build", "backend=local", "backend=slurm"]


def test_sub_commands_and_run_ids(workdir):
    from tests.helpers.runs import record

    for name in ("20261201-101010-aaaaaa", "20261201-101011-bbbbbb", "other"):
        record(workdir / "output", name, status="succeeded")
    (workdir / "output" / "sweeps" / "ens1").mkdir(parents=True)
    (workdir / "output" / "sweeps" / "ens1" / "results.jsonl").write_text("")
    assert complete("rompy ru", workdir) == ["run_id=", "runs"]
    assert {"runs", "show", "diff", "sweeps", "report", "backend="} <= set(complete("rompy ", workdir))
    assert complete("rompy show 2026", workdir) == ["20261201-101010-aaaaaa", "20261201-101011-bbbbbb"]
    assert complete("rompy diff other ", workdir) == ["20261201-101010-aaaaaa", "20261201-101011-bbbbbb", "other"]
    assert complete("rompy runs --status f", workdir) == ["failed"]
    assert complete("rompy runs --sweep ", workdir) == ["ens1"]
    assert complete("rompy report ", workdir) == ["ens1"]
    assert complete("rompy runs --js", workdir) == ["--json"]
