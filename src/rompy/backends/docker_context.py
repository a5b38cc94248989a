"""The build context: which files are sent to the engine, and the hash that names the image.

Upstream rompy keyed its image cache on the Dockerfile text alone, so a changed
file in the context silently reused a stale image. Here the image tag is a
sha256 over the Dockerfile, the build args and every file that is sent (path,
mode and bytes), and the tar sent to the engine is built from exactly the same
file list, so "what was hashed" and "what was built" cannot drift apart.

`.dockerignore` follows Docker's rules (moby/patternmatcher): `#` comments,
patterns relative to the context root (a leading `/` is dropped), `*` and `?`
never cross `/`, `**` spans any number of folders, a pattern that matches a
folder excludes everything below it, `!` re-includes, and the last matching
line wins. One deliberate difference: a `!` exception re-includes files even
inside an excluded folder whenever its literal prefix could lead there (e.g.
`!**/keep.txt`), where the classic builder would not look. The Dockerfile and
`.dockerignore` are always sent. Run directories (any folder holding a
`rompy-result.json`) and rompy's output folder are never sent, so a run's own
outputs can never trigger a rebuild.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

RUN_MARKER = "rompy-result.json"
OUTSIDE_DOCKERFILE = ".rompy.Dockerfile"  # tar name of a Dockerfile kept outside the context
_ESCAPED = set(".$+(){}^|")
_WILDCARDS = set("*?[\\")


@dataclass(frozen=True)
class _Pattern:
    text: str
    exception: bool
    regex: re.Pattern

    def matches(self, path: str) -> bool:
        """The path itself or one of its parent folders matches."""
        if self.regex.match(path):
            return True
        parts = path.split("/")
        return any(self.regex.match("/".join(parts[:i])) for i in range(1, len(parts)))


def _compile(pattern: str) -> re.Pattern:
    """Translate one .dockerignore pattern to a regex, as moby/patternmatcher does."""
    out, i, n = "^", 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out += ".*" if i >= n else "(.*/)?"
                continue
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\":
            out += re.escape(pattern[i + 1]) if i + 1 < n else r"\\"
            i += 1
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                raise ValueError(f"unterminated character class in .dockerignore pattern {pattern!r}")
            body = pattern[i + 1:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out += "[" + body.replace("\\", "\\\\") + "]"
            i = end
        elif ch in _ESCAPED:
            out += "\\" + ch
        else:
            out += re.escape(ch) if ch not in "/-" else ch
        i += 1
    return re.compile(out + "$", re.DOTALL)


def _clean(pattern: str) -> str:
    pattern = posixpath.normpath(pattern)
    if len(pattern) > 1 and pattern.startswith("/"):
        pattern = pattern.lstrip("/")
    return pattern


class IgnoreRules:
    """Parsed .dockerignore lines; `excluded(path)` for a context-relative posix path."""

    def __init__(self, lines: Iterable[str] = ()):
        self.patterns: list[_Pattern] = []
        for number, raw in enumerate(lines, 1):
            line = raw.lstrip("\ufeff") if number == 1 else raw
            if line.startswith("#"):
                continue
            line = line.strip()
            if not line:
                continue
            exception = line.startswith("!")
            if exception:
                line = line[1:].strip()
                if not line:
                    raise ValueError(f".dockerignore line {number}: '!' needs a pattern after it")
            text = _clean(line)
            self.patterns.append(_Pattern(text, exception, _compile(text)))

    @classmethod
    def for_context(cls, context: Path) -> "IgnoreRules":
        path = context / ".dockerignore"
        if not path.is_file():
            return cls()
        return cls(path.read_text(encoding="utf-8", errors="replace").splitlines())

    def excluded(self, path: str) -> bool:
        matched = False
        for pattern in self.patterns:
            if pattern.exception != matched:
                continue  # an exclusion cannot change an excluded path, nor an exception an included one
            if pattern.matches(path):
                matched = not pattern.exception
        return matched

    def may_reinclude_under(self, folder: str) -> bool:
        """Could a `!` exception re-include something below this excluded folder?"""
        prefix_dir = folder + "/"
        for pattern in self.patterns:
            if not pattern.exception:
                continue
            literal = pattern.text
            for index, ch in enumerate(literal):
                if ch in _WILDCARDS:
                    literal = literal[:index]
                    break
            if literal.startswith(prefix_dir) or prefix_dir.startswith(literal):
                return True
        return False


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


def context_entries(context: Path, rules: IgnoreRules, exclude_dirs: Iterable[Path] = ()) -> list[Entry]:
    """Every entry of `context` that is sent, sorted by name."""
    context = context.resolve()
    skipped = {Path(d).resolve() for d in exclude_dirs}
    entries: list[Entry] = []
    left_out: list[str] = []  # run directories and output folders not sent
    for root, dirs, files in os.walk(context):
        root_path = Path(root)
        rel_root = root_path.relative_to(context).as_posix()
        rel = (lambda name: name) if rel_root == "." else (lambda name: f"{rel_root}/{name}")
        descend = []
        for name in sorted(dirs):
            full = root_path / name
            if full.is_symlink():
                files.append(name)  # os.walk does not follow it: send the link itself
                continue
            if full in skipped or (full / RUN_MARKER).is_file():
                left_out.append(rel(name) + "/")
                continue
            excluded = rules.excluded(rel(name))
            if not excluded:
                entries.append(_entry(full, rel(name)))
            if not excluded or rules.may_reinclude_under(rel(name)):
                descend.append(name)
        dirs[:] = descend
        for name in sorted(files):
            if root_path == context and name in (".dockerignore",):
                continue  # always sent, added below
            if rules.excluded(rel(name)):
                continue
            entry = _entry(root_path / name, rel(name))
            if entry is not None:
                entries.append(entry)
    # A folder that holds run directories (output/, output/sweeps/...) is not itself an
    # entry, so creating or deleting runs in it never changes the hash; its other files are.
    entries = [e for e in entries
               if e.kind != "dir" or not any(run.startswith(e.name + "/") for run in left_out)]
    ignore_file = context / ".dockerignore"
    if ignore_file.is_file():
        entries.append(_entry(ignore_file, ".dockerignore"))
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
