"""Every shell and Python block in the docs runs, and succeeds.

Blocks are taken from README.md, docs/**/*.md and examples/**/README.md. The fence's
info string decides what happens (docs/README.md, "Blocks that run"):

    ```bash  / ```sh       run with `bash -e` (every command must succeed)
    ```python              run with this interpreter
    ```bash docker         the same, with a Docker engine and the local test images up
    ```bash slurm          the same, with the one-node SLURM cluster up
    ```bash multinode      the same, with the emulated many-node SLURM cluster up too
    ```bash norun          shown only; the text next to it says why

Each block runs alone in an empty temporary folder, as a reader would from a fresh
checkout: `examples/` is linked into it (commands are written from the repository
root), `python`, `python3` and `rompy` are this interpreter's, ROMPY_CONFIG_PATH is unset.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.cli import REPO, clean_env

RUN_LANGUAGES = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
MARKERS = {"norun", "docker", "slurm", "multinode"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# Images the docs name that no registry here can provide; a stand-in is tagged when a pull fails.
DOC_IMAGES = {"python:3.12-slim": "rompy-test-python:latest"}


@dataclass
class Block:
    path: Path
    line: int
    language: str
    flags: set[str]
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted((REPO / "examples").rglob("README.md"))]


def extract(path: Path) -> list[Block]:
    """Fenced blocks of `path` (indented ones too), with the line of their opening fence."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = match.group("indent"), match.group("fence"), match.group("info").strip()
        body, j = [], i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        words = info.replace(",", " ").split()
        if words and words[0].lower() in RUN_LANGUAGES:
            flags = {w.lower() for w in words[1:]}
            unknown = flags - MARKERS
            assert not unknown, f"{path}:{i + 1}: unknown block marker(s) {sorted(unknown)}; use {sorted(MARKERS)}"
            blocks.append(Block(path, i + 1, RUN_LANGUAGES[words[0].lower()], flags, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in doc_files() for block in extract(path)]


def params():
    out = []
    for block in all_blocks():
        marks = [getattr(pytest.mark, flag) for flag in ("docker", "slurm") if flag in block.flags]
        if "multinode" in block.flags and "slurm" not in block.flags:
            marks.append(pytest.mark.slurm)
        if "norun" in block.flags:
            marks.append(pytest.mark.skip(reason="marked norun in the doc"))
        out.append(pytest.param(block, id=block.id, marks=marks))
    return out


def _doc_images() -> None:
    for name, stand_in in DOC_IMAGES.items():
        have = subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0
        if not have and subprocess.run(["docker", "pull", name], capture_output=True, timeout=120).returncode:
            subprocess.run(["docker", "tag", stand_in, name], check=True, capture_output=True)


@pytest.fixture(scope="session")
def docker_up(docker_client):
    _doc_images()


@pytest.mark.parametrize("block", params())
def test_doc_block_runs(block: Block, tmp_path, request):
    if "docker" in block.flags:
        request.getfixturevalue("docker_up")
    if "slurm" in block.flags:
        request.getfixturevalue("slurm_cluster")
    if "multinode" in block.flags:
        request.getfixturevalue("slurm_multinode_env")
    (tmp_path / "examples").symlink_to(REPO / "examples")
    if block.language == "python":
        argv = [sys.executable, "-c", block.code]
    else:
        argv = ["bash", "-e", "-c", block.code]
    proc = subprocess.run(argv, cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (
        f"{block.id} exited {proc.returncode}\n--- block ---\n{block.code}--- stdout ---\n"
        f"{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )


def test_blocks_are_found():
    blocks = all_blocks()
    assert len(blocks) > 10
    ids = [b.id for b in blocks]
    assert "README.md:8" in ids or any(i.startswith("README.md:") for i in ids)
    assert len(ids) == len(set(ids))


def test_marker_convention_is_documented():
    text = (REPO / "docs" / "README.md").read_text()
    for marker in sorted(MARKERS):
        assert f"bash {marker}" in text, marker
