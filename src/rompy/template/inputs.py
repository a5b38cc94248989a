"""Inputs a model needs besides its rendered files (bathymetry, forcing, a restart): staged with checksums."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class InputFile(BaseModel):
    """One file or folder copied (or linked) into the run directory."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    src: str = Field(description="The file or folder to stage (a path on this machine).")
    dest: str | None = Field(None, description="Where it goes, relative to the run directory; default: datasets/<name>.")
    link: bool = Field(False, description="Symlink instead of copying (the run then depends on src staying put).")

    @field_validator("src", mode="before")
    @classmethod
    def _src_exists(cls, value):
        value = os.fspath(value) if isinstance(value, os.PathLike) else value
        if isinstance(value, str) and not os.path.exists(os.path.expanduser(value)):
            raise ValueError("no such file or folder")
        return value

    @field_validator("dest", mode="before")
    @classmethod
    def _dest_inside(cls, value):
        value = os.fspath(value) if isinstance(value, os.PathLike) else value
        if isinstance(value, str):
            parts = PurePosixPath(value).parts
            if not parts or PurePosixPath(value).is_absolute() or ".." in parts:
                raise ValueError("must be a path inside the run directory (relative, no '..')")
        return value

    @model_validator(mode="after")
    def _default_dest(self):
        if self.dest is None:
            self.dest = f"datasets/{Path(self.src).expanduser().name}"
        return self

    def stage(self, run_dir: Path) -> dict[str, Any]:
        """Copy or link into `run_dir`; what the run record keeps: where from, where to, sha256, bytes."""
        source = Path(self.src).expanduser().resolve()
        target = run_dir / self.dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.link:
            target.symlink_to(source, target_is_directory=source.is_dir())
        elif source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)
        digest, size = checksum(source)
        return {"src": str(source), "dest": self.dest, "link": self.link, "sha256": digest, "bytes": size}


def checksum(path: Path) -> tuple[str, int]:
    """sha256 of a file, or of a folder (every file's relative path and bytes, in sorted order); total bytes."""
    digest, size = hashlib.sha256(), 0
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file != path:
            digest.update(f"{file.relative_to(path).as_posix()}\0".encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    return digest.hexdigest(), size
