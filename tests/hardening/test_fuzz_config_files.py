"""Fuzzed config files in a user's ./conf, through the real CLI entry, in-process (912 files).

Broken and odd YAML (syntax errors, wrong types, unknown `type` or `_target_`, empty files,
lists where a mapping belongs, bytes that are not UTF-8, YAML tags, anchors, interpolations,
huge files) is dropped into ./conf as a group option (backend, model, postprocessor, a
launcher or a sweeper) or as the primary config, and used by a single run, a sweep, `--help`
and tab completion. Every case must end with exit 0 or 2, print at
most one `rompy: error:` line per sweep member, and never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import random
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rompy.cli import run_cli
from rompy.runtime.processes import environment

REPO = Path(__file__).resolve().parents[2]
GROUPS = ("backend", "model", "postprocessor", "primary", "hydra/launcher", "hydra/sweeper")
FIELDS = {
    "backend": ["type", "timeout", "command", "env_vars", "cpu", "shell", "capture_output", "working_dir",
                "secret_env", "executable", "mpiexec", "image", "memory", "volumes", "queue", "time_limit"],
    "model": ["type", "depths", "periods", "g"],
    "postprocessor": ["type", "fail_run", "format", "remove_outputs", "filename"],
    "primary": ["run_id", "output_dir", "delete_existing", "dry_run", "log_level", "defaults", "sweep", "backend",
                "hydra"],
    "hydra/launcher": ["defaults", "_target_", "cores", "max_workers", "poll_s", "members_per_task", "task_minutes",
                       "partition", "setup", "max_wrkers"],
    "hydra/sweeper": ["defaults", "_target_", "params", "max_batch_size", "parms"],
}
#: Values of a plugin's `_target_`, and of a launcher or sweeper file's `defaults`.
TARGETS = ["hydra_plugins.rompy_launchers.parallel.RompyParallelLauncher",
           "hydra_plugins.rompy_launchers.sequential.RompySequentialLauncher",
           "hydra_plugins.rompy_launchers.sweeper.RompySweeper", "hydra_plugins.nope.Nope", "nope.Nope", "os.system",
           "hydra._internal.core_plugins.basic_launcher.BasicLauncher", "", "~"]
DEFAULTS = ["[parallel]", "[sequential]", "[slurm]", "[rompy]", "[basic]", "[nothere]", "[_self_, parallel]", "5",
            "parallel"]
TYPES = ["local", "docker", "slurm", "demo", "noop", "archive", "summary", "nope", "os:system", "rompy.errors:RompyError",
         "rompy.backends.local:LocalConfig", "no.such.module:Thing", ":", "", "a:b:c"]
VALUES = ["true", "no", "~", "null", "007", "1:30", "0x1f", "1e3", ".inf", "-.nan", "[]", "{}", "[1, 2]", "{a: 1}",
          "'quoted'", '"exit 3"', "${oc.env:HOME}", "${oc.env:ROMPY_FUZZ_UNSET}", "${nope}", "${backend.timeout}",
          "\\${HOME}", "[10, -5]", "512m", "2g", "busybox", "Bad Image", "/", "..", "local", "zip", "tar.gz",
          "!!python/object/apply:os.system ['true']", "!!binary aGVsbG8=", "!custom x", "*undefined_alias",
          "&anchor 5", "|\n  block\n  text", ">-\n  folded", "2019-01-01", "2019-01-01T06:00:00Z", "'\\x00'"]
SPECIALS = list(":-[]{}'\"\t #&*!|>%@`,?\n\\")


def _shipped_texts() -> list[str]:
    return [path.read_text() for path in sorted((REPO / "conf").rglob("*.yaml"))]


SHIPPED = _shipped_texts()


@st.composite
def a_mapping(draw, group: str) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.sampled_from(FIELDS[group] + ["unknown", "tiemout", "type"]))
        choices = {"type": TYPES, "_target_": TARGETS, "defaults": DEFAULTS}.get(key, VALUES)
        value = draw(st.sampled_from(choices) | st.integers().map(str) | st.text(max_size=12).map(repr))
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


@st.composite
def a_mutation(draw) -> str:
    text = draw(st.sampled_from(SHIPPED))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        where = rng.randrange(len(text))
        action = rng.choice(["insert", "delete", "indent", "duplicate", "swap"])
        if action == "insert":
            text = text[:where] + rng.choice(SPECIALS) + text[where:]
        elif action == "delete":
            text = text[:where] + text[where + 1:]
        else:
            lines = text.splitlines()
            i = rng.randrange(len(lines)) if lines else 0
            if lines and action == "indent":
                lines[i] = " " * rng.choice([1, 2, 3, 4]) + lines[i]
            elif lines and action == "duplicate":
                lines.insert(i, lines[i])
            elif len(lines) > 1:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines) + "\n"
    return text


def _laughs(depth: int, width: int) -> str:
    lines = ["a0: &a0 [lol]"]
    for level in range(1, depth):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


ODD_TEXTS = st.sampled_from([
    "", "\n\n", "# only a comment\n", "   \t\n", "- a\n- b\n", "just a scalar\n", "42\n", "null\n", "---\n---\n",
    "type: local\n---\ntype: docker\n", "\ufefftype: local\n", "type: local\r\ntimeout: 600\r\n",
    "type: local\ntimeout:\t600\n", "type: local\ntype: docker\n", "a: ${a}\n", "a: ${b}\nb: ${a}\n",
    "defaults:\n  - nothere\n", "defaults: 5\n", "defaults:\n  - /backend: nope\n", "defaults:\n  - _self_\n  - _self_\n",
    "type: local\nenv_vars:\n  A: 1\n   B: [2\n", "{unclosed: [1, 2\n", "'unterminated\n", "key: 'a\n",
    "? complex key\n: value\n", "[a, b]: c\n", "type: local\nenv_vars: [1, 2]\n", "type: demo\ndepths: {a: 1}\n",
    "type: !!python/name:os.system\n", "!!set {a, b}\n", "type: local\n" + "x" * 3000 + ": 1\n",
    _laughs(5, 5), "@reserved\n", "`backtick\n", "%TAG ! tag:example.com,2000:\n--- !foo\nbar\n",
])


def a_file_strategy(group: str):
    text = (a_mapping(group) | a_mutation() | ODD_TEXTS).map(lambda t: t.encode("utf-8"))
    binary = st.binary(max_size=200) | st.binary(min_size=1, max_size=40).map(lambda b: b"type: local\ncommand: " + b)
    latin1 = st.sampled_from(["type: local\ncommand: caf\xe9\n", "depths: [\xb5]\n"]).map(lambda t: t.encode("latin-1"))
    huge = st.sampled_from([
        lambda: ("type: local\n" + "".join(f"k{i}: {i}\n" for i in range(20000))).encode(),
        lambda: ("type: local\ncommand: '" + "x" * 2_000_000 + "'\n").encode(),
        lambda: ("type: demo\ndepths: [" + ", ".join(str(i + 1) for i in range(50000)) + "]\n").encode(),
    ]).map(lambda make: make())
    return st.one_of(text, text, text, binary, latin1, huge)


COUNTS: dict[str, dict[str, int]] = {}


def _place(root: Path, group: str, content: bytes) -> str:
    """Write the file; the override that selects it (nothing for a primary config)."""
    if group == "primary":
        (root / "conf").mkdir(exist_ok=True)
        (root / "conf" / "rompy.yaml").write_bytes(content)
        return ""
    (root / "conf" / group).mkdir(parents=True, exist_ok=True)  # hydra/launcher: conf/hydra/launcher/
    (root / "conf" / group / "fuzz.yaml").write_bytes(content)
    return f"{group}=fuzz"


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with environment(env or {}), redirect_stdout(out), redirect_stderr(err):
        code = run_cli(argv)
    return code, err.getvalue()


def _check(kind: str, figures, argv: list[str], code: int, err: str, members: int = 1) -> None:
    counts = COUNTS.setdefault(kind, {"files": 0, "exit_0": 0, "exit_2": 0})
    counts["files"] += 1
    assert "Traceback" not in err, (argv, err[-2000:])
    assert code in (0, 2), (argv, code, err[-2000:])
    errors = [line for line in err.splitlines() if line.startswith("rompy: error:")]
    others = [line for line in err.splitlines() if line.strip() and not line.startswith("rompy:")]
    assert not others, (argv, err[-2000:])
    if code == 2:
        counts["exit_2"] += 1
        assert 1 <= len(errors) <= members, (argv, err[-2000:])
    else:
        counts["exit_0"] += 1
        assert not errors, (argv, err[-2000:])
    figures.record(f"fuzzed config files in ./conf: {kind}", **counts, tracebacks=0)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-files")


# 4 commands x 6 groups x 38 files = 912 files; one test per command and group, so that pytest -n
# spreads them over its workers.
FUZZ = settings(max_examples=38, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
BY_GROUP = pytest.mark.parametrize("group", GROUPS)


def _each_case(root: Path, group: str, content: bytes):
    import shutil

    case = root / f"case-{sum(c['files'] for c in COUNTS.values())}-{random.getrandbits(32):08x}"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir()
    return case, _place(case, group, content)


def _single_run(root: Path, group: str, selection: str) -> tuple[list[str], int, str, int]:
    # A real run when the file is the model or postprocessor (the backend is the harmless `true`);
    # a dry run when it is the backend (it could name any image or command), or a launcher or sweeper.
    mode = ["backend=local", "backend.command='true'"] if group in ("model", "postprocessor") else ["dry_run=true"]
    argv = [a for a in [selection, *mode, f"output_dir={root / 'out'}"] if a]
    return argv, *_run(argv), 1


def _dry_run_sweep(root: Path, group: str, selection: str) -> tuple[list[str], int, str, int]:
    argv = [a for a in ["-m", selection, "+backend.env_vars.FUZZ=1,2", "dry_run=true", f"output_dir={root / 'out'}",
                        "sweep.progress=off"] if a]
    code, err = _run(argv)
    assert not (root / "out").exists(), "a dry-run sweep creates nothing"
    return argv, code, err, 2


def _help(root: Path, group: str, selection: str) -> tuple[list[str], int, str, int]:
    code, err = _run(["--help"])
    assert code == 0, err
    return ["--help"], code, err, 1


def _completion(root: Path, group: str, selection: str) -> tuple[list[str], int, str, int]:
    line = f"rompy {selection} {group if group in ('backend', 'model', 'postprocessor') else 'backend'}."
    code, err = _run(["-sc", "query=bash"], env={"COMP_LINE": line, "COMP_POINT": str(len(line))})
    return ["-sc", "query=bash", line], code, err, 1


COMMANDS = {"single runs": _single_run, "dry-run sweeps of 2 members": _dry_run_sweep, "--help": _help,
            "tab completion": _completion}


@pytest.mark.parametrize("command", list(COMMANDS))
@BY_GROUP
@FUZZ
@given(data=st.data())
def test_a_broken_or_odd_file_is_exit_0_or_2_with_one_line(fuzz_root, figures, command, group, data):
    content = data.draw(a_file_strategy(group))
    root, selection = _each_case(fuzz_root, group, content)
    with contextlib.chdir(root):
        argv, code, err, members = COMMANDS[command](root, group, selection)
    _check(f"{command}, {group} files", figures, argv, code, err, members)
