"""Fuzzed configuration through the real CLI entry and the config models.

Every override set ends with exit 0 or 2; an error is one line naming the
config path; no traceback ever. Random dicts through the models give a model
or a ValidationError, never another exception.
"""

from __future__ import annotations

import io
import string
from contextlib import redirect_stderr, redirect_stdout

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rompy.backends import DockerConfig, LocalConfig
from rompy.cli import run_cli
from rompy.config import RunConfig
from rompy.postprocess.archive import ArchiveConfig
from rompy.postprocess.noop import NoopConfig
from rompy.postprocess.summary import SummaryConfig

FIELDS = {
    "backend": ["type", "timeout", "command", "env_vars", "cpu", "shell", "capture_output", "working_dir",
                "secret_env", "executable", "mpiexec"],
    "postprocessor": ["type", "fail_run", "format", "remove_outputs", "filename"],
    "model": ["type", "depths", "periods", "g"],
    "": ["run_id", "output_dir", "delete_existing", "log_level"],  # debug=true shows tracebacks by design
}
DOCKER_FIELDS = ["image", "memory", "volumes", "remove_container", "user", "gpus", "network", "shm_size",
                 "pull_policy", "dockerfile", "build_context", "build_args"]

weird_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
huge_text = st.integers(1000, 20000).map(lambda n: "x" * n)
scalars = st.one_of(
    st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(str),
    st.sampled_from(["true", "false", "null", "yes", "007", "1:30", "[]", "{}", "[1,2]", "{a: 1}", "'quoted'",
                     '"exit 3"', "'exit 3'", "${oc.env:HOME}", "${oc.env:ROMPY_FUZZ_UNSET}", "${nope}", "\\${HOME}",
                     "[10,-5]", "[a b,c]", "512m", "2g", "1.5GiB", "busybox", "Bad Image", "/", "..", "local",
                     "docker", "zip", "tar.gz"]),
    weird_text.map(lambda s: repr(s)),  # quoted strings of anything
    huge_text,
)
ident = st.text(string.ascii_letters + "_", min_size=1, max_size=12)


@st.composite
def an_override(draw):
    kind = draw(st.sampled_from(["field", "field", "field", "group", "unknown", "raw", "append", "env"]))
    if kind == "group":
        group = draw(st.sampled_from(["backend", "postprocessor", "model"]))
        option = draw(st.sampled_from(["local", "docker", "docker_build", "noop", "archive", "summary", "demo"]) | ident)
        return f"{group}={option}"
    if kind == "unknown":
        return f"{draw(st.sampled_from(['backend.', 'postprocessor.', 'model.', '']))}{draw(ident)}={draw(scalars)}"
    if kind == "append":
        return f"+backend.{draw(ident)}={draw(scalars)}"
    if kind == "env":
        name = draw(st.sampled_from(["MODEL_CONFIG", "OMP_NUM_THREADS", "lower", "1BAD"]) | ident)
        return f"+backend.env_vars.{name}={draw(scalars)}"
    if kind == "raw":
        return draw(weird_text.filter(lambda s: s and not s.startswith("-")))
    group = draw(st.sampled_from(list(FIELDS)))
    name = draw(st.sampled_from(FIELDS[group] + (DOCKER_FIELDS if group == "backend" else [])))
    key = f"{group}.{name}" if group else name
    return f"{key}={draw(scalars)}"


def _key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~") if "=" in override else override


CASES = {"count": 0, "errors": 0, "ok": 0}


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.lists(an_override(), min_size=1, max_size=5))
def test_cli_overrides_exit_0_or_2_with_one_line(overrides):
    argv = ["dry_run=true", *overrides, "dry_run=true"]
    if any(o.startswith("backend=docker") for o in overrides):
        argv.append("backend.pull_policy=never")  # no registry here: never try to pull
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_cli(argv)
    text = err.getvalue()
    CASES["count"] += 1
    assert "Traceback" not in text, (argv, text)
    assert code in (0, 2), (argv, code, text)
    if code == 2:
        CASES["errors"] += 1
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("rompy: WARNING")]
        assert len(lines) == 1, (argv, text)
        assert lines[0].startswith("rompy: error: "), (argv, text)
        message = lines[0]
        keys = [_key_of(o) for o in argv] + ["backend", "postprocessor", "model", "type", "run_id", "override"]
        assert any(k and k[:40] in message for k in keys), (argv, message)
    else:
        CASES["ok"] += 1


def test_zz_fuzz_figures(figures):
    """Runs after the fuzz test in this module (same worker): record its figures."""
    if CASES["count"]:
        figures.record("fuzzed CLI override sets (dry run)", cases=CASES["count"], exit_0=CASES["ok"],
                       exit_2=CASES["errors"], tracebacks=0)


MODELS = [LocalConfig, DockerConfig, NoopConfig, ArchiveConfig, SummaryConfig, RunConfig]
any_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
MODEL_CASES = {"count": 0, "valid": 0, "invalid": 0}


@st.composite
def a_dict(draw):
    model = draw(st.sampled_from(MODELS))
    keys = list(model.model_fields) + ["unknown", "cpus", "tiemout"]
    data = draw(st.dictionaries(st.sampled_from(keys), any_value, max_size=6))
    return model, data


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(a_dict())
def test_random_dicts_validate_or_raise_validation_error(case):
    model, data = case
    MODEL_CASES["count"] += 1
    try:
        model.model_validate(data)
        MODEL_CASES["valid"] += 1
    except ValidationError:
        MODEL_CASES["invalid"] += 1


def test_zz_model_figures(figures):
    if MODEL_CASES["count"]:
        figures.record("random dicts through the config models", cases=MODEL_CASES["count"],
                       valid=MODEL_CASES["valid"], validation_errors=MODEL_CASES["invalid"], other_exceptions=0)
