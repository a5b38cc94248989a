"""Where rompy's shipped config lives, in a wheel and in a source checkout."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_NAME = "rompy"
CONFIG_PATH_VARIABLE = "ROMPY_CONFIG_PATH"


def shipped_conf_dir() -> Path:
    """`rompy/conf` inside an installed wheel, else the checkout's top-level `conf/`."""
    packaged = Path(__file__).resolve().parent / "conf"
    if (packaged / f"{CONFIG_NAME}.yaml").is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "conf"


def user_conf_dirs() -> list[Path]:
    """Config folders searched before the shipped one: ./conf, then ROMPY_CONFIG_PATH in order."""
    shipped = shipped_conf_dir()
    dirs: list[Path] = []
    local = Path.cwd() / "conf"
    if local.is_dir():
        dirs.append(local.resolve())
    for entry in os.environ.get(CONFIG_PATH_VARIABLE, "").split(":"):
        if entry:
            dirs.append(Path(entry).expanduser().resolve())
    unique: list[Path] = []
    for d in dirs:
        if d != shipped and d not in unique:
            unique.append(d)
    return unique


def creatable_problem(path: str | os.PathLike) -> str | None:
    """Why `path` could not be created (or written into if it exists), or None. Creates nothing."""
    reason = _blocker(path)
    return f"cannot create {os.path.abspath(os.path.expanduser(str(path)))}: {reason}" if reason else None


def _blocker(path: str | os.PathLike) -> str | None:
    probe = Path(os.path.abspath(os.path.expanduser(str(path))))
    while not os.path.lexists(probe):
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None
