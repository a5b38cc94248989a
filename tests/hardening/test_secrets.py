"""A unique secret passed the documented ways never shows up anywhere rompy writes or runs."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from tests.helpers.cli import rompy_cmd, run_rompy


def _files_containing(root: Path, needle: str) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path))
    return hits


def _cmdlines_containing(needle: str) -> list[int]:
    hits = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if needle.encode() in open(f"/proc/{pid}/cmdline", "rb").read():
                hits.append(int(pid))
        except OSError:
            continue
    return hits


def test_secret_from_the_environment_leaks_nowhere(workdir, figures):
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    env = {**os.environ, "ROMPY_TEST_SECRET": secret, "ROMPY_PLAIN_NAME": secret}
    checks = 0
    # Two ways in: a reference under a secret-looking name and under a plain one, plus secret_env.
    argv = rompy_cmd(
        "run_id=leak", "+backend.env_vars.API_TOKEN=${oc.env:ROMPY_TEST_SECRET}",
        "+backend.env_vars.DBCONN=${oc.env:ROMPY_PLAIN_NAME}", "backend.secret_env=[ROMPY_TEST_SECRET]",
        "postprocessor=summary",
        "backend.command='test \"$API_TOKEN\" = \"$DBCONN\" && test -n \"$ROMPY_TEST_SECRET\" && sleep 2'",
    )
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    during = _cmdlines_containing(secret)
    checks += 1
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert during == [], "a secret was visible in a process command line"
    assert secret not in out and secret not in err
    checks += 2
    hits = _files_containing(workdir, secret)
    checks += len(list(workdir.rglob("*")))
    assert hits == []
    # Dry run prints the config: the references, never the values.
    dry = run_rompy("+backend.env_vars.DBCONN=${oc.env:ROMPY_PLAIN_NAME}", "dry_run=true", cwd=workdir,
                    env={"ROMPY_PLAIN_NAME": secret})
    assert dry.returncode == 0 and secret not in dry.stdout + dry.stderr
    assert "${oc.env:ROMPY_PLAIN_NAME}" in dry.stdout
    # A validation error on a value read from the environment hides it.
    bad = run_rompy("backend.timeout=${oc.env:ROMPY_PLAIN_NAME}", cwd=workdir, env={"ROMPY_PLAIN_NAME": secret})
    assert bad.returncode == 2 and secret not in bad.stderr
    assert "backend.timeout" in bad.stderr
    checks += 4
    figures.record("unique secret through env references, secret_env and a real run", places_checked=checks,
                   secrets_leaked=0)


def test_literal_secret_on_the_command_line_is_refused_before_hydra(workdir):
    secret = f"literal-{uuid.uuid4().hex}"
    for override in (f"+backend.env_vars.API_KEY={secret}", f"+backend.env_vars={{DB_PASSWORD: {secret}}}",
                     f"+backend.env_vars.my_token={secret},other"):
        proc = run_rompy(override, cwd=workdir)
        assert proc.returncode == 2, override
        assert "oc.env" in proc.stderr  # says how to pass it
        assert secret not in proc.stderr
    declared = run_rompy("backend.secret_env=[CUSTOM]", f"+backend.env_vars.CUSTOM={secret}", cwd=workdir)
    assert declared.returncode == 2 and secret not in declared.stderr
    assert list(workdir.iterdir()) == [], "nothing may be written before the refusal"


def test_env_reference_inside_a_command_is_refused(workdir):
    proc = run_rompy("backend.command='echo ${oc.env:HOME}'", cwd=workdir)
    assert proc.returncode == 2
    assert "backend.command" in proc.stderr and "command line" in proc.stderr


def test_missing_secret_env_variable_is_a_preflight_error(workdir):
    proc = run_rompy("backend.secret_env=[ROMPY_SURELY_UNSET_VAR]", cwd=workdir)
    assert proc.returncode == 2
    assert "ROMPY_SURELY_UNSET_VAR" in proc.stderr
    assert not (workdir / "output").exists()
