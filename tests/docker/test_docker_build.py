"""Dockerfile builds: the image tag follows the *contents* of the build context.

Regression tests for upstream rompy's stale-image bug (cache keyed on the
Dockerfile text only) and for a run's own outputs inside the context triggering
a rebuild. The .dockerignore matcher is checked against Docker's documented rules.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rompy.backends.docker.context import context_entries
from tests.helpers.cli import read_record, run_rompy
from tests.helpers.docker import BUSYBOX, containers_of

pytestmark = pytest.mark.docker

DOCKERFILE = f"FROM {BUSYBOX}\nARG FLAVOUR=plain\nCOPY data.txt /data.txt\nRUN echo $FLAVOUR > /flavour\n"


# -- .dockerignore (pure) --------------------------------------------------------------
@pytest.mark.parametrize("patterns, path, excluded", [
    (["*.log"], "a.log", True),
    (["*.log"], "sub/a.log", False),            # '*' does not cross '/': root level only
    (["**/*.log"], "sub/deep/a.log", True),
    (["**/*.log"], "a.log", True),              # '**/' also matches zero folders
    (["build"], "build/x/y.o", True),           # a matched folder excludes what is below
    (["/build"], "build/y.o", True),            # leading '/' is the context root
    (["data/**"], "data/a/b", True),
    (["data/**"], "data", False),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["[!a-c]x"], "dx", True),
    (["[!a-c]x"], "ax", False),
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "NOTES.md", True),
    (["*.md", "!README.md", "README*"], "README.md", True),   # the last match wins
    (["docs", "!docs/keep.txt"], "docs/keep.txt", False),
    (["docs", "!docs/keep.txt"], "docs/other.txt", True),
    (["# comment", "  x  "], "x", True),
    (["./x/../y"], "y", True),
])
def test_dockerignore_rules(tmp_path, patterns, path, excluded):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("\n".join(patterns) + "\n")
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text("x")
    names = [e.name for e in context_entries(tmp_path)]
    assert (path not in names) is excluded, names


def test_an_exception_names_a_file_inside_an_excluded_folder(tmp_path):
    (tmp_path / "cache" / "deep").mkdir(parents=True)
    (tmp_path / "cache" / "deep" / "keep.txt").write_text("k")
    (tmp_path / "cache" / "drop.txt").write_text("d")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("cache\n!cache/deep/keep.txt\n")
    names = [e.name for e in context_entries(tmp_path)]
    assert "cache/deep/keep.txt" in names and "cache/drop.txt" not in names


def test_run_directories_and_excluded_dirs_are_never_sent(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "old_run").mkdir()
    (tmp_path / "old_run" / "rompy-result.json").write_text("{}")
    (tmp_path / "output" / "x").mkdir(parents=True)
    (tmp_path / "src.py").write_text("print(1)\n")
    (tmp_path / "runs" / "sweep" / "0").mkdir(parents=True)
    (tmp_path / "runs" / "sweep" / "0" / "rompy-result.json").write_text("{}")
    (tmp_path / "runs" / "notes.txt").write_text("user file next to runs")
    names = [e.name for e in context_entries(tmp_path, [tmp_path / "output"])]
    assert names == ["Dockerfile", "runs/notes.txt", "src.py"]


# -- real builds ---------------------------------------------------------------------
@pytest.fixture
def context(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "data.txt").write_text("version 1\n")
    (ctx / ".dockerignore").write_text("*.tmp\nnotes/\n")
    return ctx


@pytest.fixture
def built_tags(docker_client):
    tags: list[str] = []
    yield tags
    for tag in set(tags):
        try:
            docker_client.api.remove_image(tag, force=True)
        except Exception:
            pass


def _build_run(context: Path, output_dir: Path, run_id: str, built_tags: list, **extra):
    from rompy.backends import DockerConfig
    from rompy.model import ModelRun

    backend = DockerConfig(dockerfile="Dockerfile", build_context=str(context),
                           command="cat /data.txt /flavour", **extra)
    model = ModelRun(run_id=run_id, output_dir=output_dir)
    ok = model.run(backend=backend)
    build = model.record["backend"]["details"]["build"]
    built_tags.append(build["tag"])
    return ok, build, (model.run_dir / "logs" / "stdout.log").read_text(), model


def test_changed_context_file_rebuilds_unchanged_reuses(docker_client, context, tmp_path, run_id, built_tags):
    ok, first, out, model = _build_run(context, tmp_path / "out", run_id + "-1", built_tags)
    assert ok and first["built"] is True
    assert out == "version 1\nplain\n"
    assert (model.run_dir / "logs" / "build.log").read_text().strip()
    assert model.record["backend"]["details"]["image"] == first["tag"]

    ok, again, out, _ = _build_run(context, tmp_path / "out", run_id + "-2", built_tags)
    assert ok and again["built"] is False and again["tag"] == first["tag"]

    (context / "data.txt").write_text("version 2\n")  # upstream reused the stale image here
    ok, changed, out, _ = _build_run(context, tmp_path / "out", run_id + "-3", built_tags)
    assert ok and changed["built"] is True and changed["tag"] != first["tag"]
    assert out == "version 2\nplain\n"

    os.chmod(context / "data.txt", 0o600)  # the mode is part of the content too
    ok, mode_changed, _, _ = _build_run(context, tmp_path / "out", run_id + "-4", built_tags)
    assert mode_changed["tag"] != changed["tag"]


def test_ignored_files_and_run_outputs_inside_the_context_do_not_rebuild(
        docker_client, context, run_id, built_tags):
    output_dir = context / "output"  # rompy's outputs land inside the build context
    ok, first, _, _ = _build_run(context, output_dir, run_id + "-1", built_tags)
    assert ok and first["built"]
    (context / "scratch.tmp").write_text("ignored by .dockerignore")
    (context / "notes").mkdir()
    (context / "notes" / "n.txt").write_text("ignored folder")
    ok, second, _, _ = _build_run(context, output_dir, run_id + "-2", built_tags)
    assert ok and second["built"] is False and second["tag"] == first["tag"]
    # A run directory elsewhere in the context (output_dir moved) is skipped by its record file.
    ok, third, _, _ = _build_run(context, context / "elsewhere", run_id + "-3", built_tags)
    assert ok and third["tag"] == first["tag"] and third["built"] is False


def test_build_args_are_part_of_the_key(docker_client, context, tmp_path, run_id, built_tags):
    ok, plain, out, _ = _build_run(context, tmp_path / "out", run_id + "-1", built_tags)
    ok2, spicy, out2, _ = _build_run(context, tmp_path / "out", run_id + "-2", built_tags,
                                     build_args={"FLAVOUR": "spicy"})
    assert ok and ok2 and plain["tag"] != spicy["tag"]
    assert out2 == "version 1\nspicy\n"


def test_failed_build_exits_1_via_the_cli(docker_client, tmp_path, run_id):
    ctx = tmp_path / "bad"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo building-now && exit 7\n")
    proc = run_rompy("backend=docker_build", f"backend.build_context={ctx}", f"run_id={run_id}",
                     f"output_dir={tmp_path / 'out'}", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "building-now" in proc.stdout  # live build output
    record = read_record(tmp_path / "out" / run_id)
    assert record["status"] == "failed" and "building image" in record["message"]
    assert "exit" in record["message"] or "returned a non-zero code" in record["message"]
    assert "building-now" in (tmp_path / "out" / run_id / "logs" / "build.log").read_text()
    assert not containers_of(docker_client, run_id)
