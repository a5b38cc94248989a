"""What a build sends to the engine, and the hash that names the image.

The image tag is a sha256 over the Dockerfile, the build args and every file that is
sent (path, mode and bytes), and the tar sent to the engine is built from exactly the
same list, so what was hashed and what was built cannot drift apart: a changed file in
the context rebuilds, an unchanged context reuses the image.

`.dockerignore` is matched by the Docker SDK (`docker.utils.build`), as a build through
the SDK would match it. The Dockerfile and `.dockerignore` are always sent. Run
directories (any folder holding a run record) and rompy's output folder are never sent,
so a run's own outputs can never trigger a rebuild.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

from rompy.record import RECORD_NAME

OUTSIDE_DOCKERFILE = ".rompy.Dockerfile"  # tar name of a Dockerfile kept outside the context


def ignore_patterns(context: Path) -> list[str]:
    """The patterns of `<context>/.dockerignore`, read as the Docker SDK reads them."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def check_dockerignore(context: Path) -> str | None:
    """Why `.dockerignore` cannot be used (a pattern that does not compile), or None."""
    import re

    from docker.utils.build import PatternMatcher

    try:
        PatternMatcher(ignore_patterns(context)).matches("probe")
    except (re.error, IndexError) as exc:
        return f".dockerignore has a pattern Docker cannot read: {exc}"
    return None


@dataclass(frozen=True)
class Entry:
    """One file, folder or symlink sent to the engine."""

    name: str  # posix path inside the context
    path: Path
    kind: str  # "file" | "dir" | "symlink"
    mode: int
    size: int = 0


def _entry(path: Path, name: str) -> Entry | None:
    st = path.lstat()
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return Entry(name, path, "symlink", mode)
    if stat.S_ISDIR(st.st_mode):
        return Entry(name, path, "dir", mode)
    if stat.S_ISREG(st.st_mode):
        return Entry(name, path, "file", mode, st.st_size)
    return None  # sockets, fifos, devices: Docker cannot send them either


def context_entries(context: Path, exclude_dirs: Iterable[Path] = ()) -> list[Entry]:
    """Every entry of `context` that is sent, sorted by name."""
    from docker.utils.build import exclude_paths

    context = context.resolve()
    patterns = ignore_patterns(context)
    for folder in exclude_dirs:  # pruned from the walk itself, however many runs they hold
        try:
            patterns.append("/" + Path(folder).resolve().relative_to(context).as_posix())
        except ValueError:
            continue
    kept = sorted(exclude_paths(str(context), patterns, dockerfile=".dockerignore"))
    run_dirs = {name for name in kept if (context / name / RECORD_NAME).is_file()}
    entries = []
    for name in kept:
        if any(name == run or name.startswith(run + "/") for run in run_dirs):
            continue
        entry = _entry(context / name, name)
        # A folder that holds run directories (output/, output/sweeps/...) is not itself an
        # entry, so creating or deleting runs in it never changes the hash; its other files are.
        if entry is not None and not (entry.kind == "dir" and any(run.startswith(name + "/") for run in run_dirs)):
            entries.append(entry)
    return sorted(entries, key=lambda e: e.name)


def dockerfile_name(context: Path, dockerfile: Path) -> str:
    """Name of the Dockerfile inside the sent tar."""
    try:
        return dockerfile.resolve().relative_to(context.resolve()).as_posix()
    except ValueError:
        return OUTSIDE_DOCKERFILE


def context_digest(entries: list[Entry], dockerfile_text: bytes, dockerfile_in_tar: str,
                   build_args: dict[str, str]) -> str:
    """sha256 over the Dockerfile, the build args and every sent entry (name, kind, mode, bytes)."""
    digest = hashlib.sha256(b"rompy-build-context-v1\0")
    digest.update(f"dockerfile {dockerfile_in_tar} {len(dockerfile_text)}\0".encode())
    digest.update(dockerfile_text)
    for key in sorted(build_args):
        value = build_args[key].encode()
        digest.update(f"\0arg {len(key)}:{key} {len(value)}\0".encode() + value)
    for entry in entries:
        digest.update(f"\0{entry.kind} {len(entry.name.encode())}:{entry.name} {entry.mode:o}".encode())
        if entry.kind == "symlink":
            target = os.readlink(entry.path).encode()
            digest.update(f" {len(target)}\0".encode() + target)
        elif entry.kind == "file":
            digest.update(f" {entry.size}\0".encode())
            with open(entry.path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def write_context_tar(fileobj: IO[bytes], entries: list[Entry], dockerfile_text: bytes,
                      dockerfile_in_tar: str) -> None:
    """The tar the engine builds from: the entries (owned by root) plus the Dockerfile."""

    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
        names = set()
        for entry in entries:
            tar.add(str(entry.path), arcname=entry.name, recursive=False, filter=as_root)
            names.add(entry.name)
        if dockerfile_in_tar not in names:
            import io

            info = as_root(tarfile.TarInfo(dockerfile_in_tar))
            info.size, info.mode = len(dockerfile_text), 0o644
            tar.addfile(info, io.BytesIO(dockerfile_text))
