"""Files that other processes read while rompy writes them, and folders checked before they are made.

Records and summaries are replaced atomically, so a reader (another rompy, `rompy runs`,
a user's script) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Iterable


def write_json_atomic(path: str | os.PathLike, data: Any, durable: bool = True) -> None:
    """Write JSON to a temporary file beside `path`, sync it (if `durable`), and rename it over `path`."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n", durable)


def write_text_atomic(path: str | os.PathLike, text: str, durable: bool = True) -> None:
    """Write text to a temporary file beside `path`, sync it (if `durable`), and rename it over `path`.

    Not durable: a reader still never sees half a file, but a power cut may lose the write.
    """
    write_chunks_atomic(path, [text], durable)


def write_chunks_atomic(path: str | os.PathLike, chunks: Iterable[str], durable: bool = True) -> None:
    """write_text_atomic for text made piece by piece (a sweep's summary of ten thousand members)."""
    path = Path(path)
    # Not mkstemp: its 0600 would make records unreadable to colleagues; 0666 minus the umask
    # gives the file the permissions of everything else the run writes.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def overwrite_in_place(path: str | os.PathLike, data: Any) -> bool:
    """Rewrite an existing file's own blocks with compact JSON (a full disk has no new ones); False if it does not fit."""
    text = json.dumps(data, default=str, separators=(",", ":")).encode()
    try:
        with open(path, "r+b") as fh:
            if len(text) > os.fstat(fh.fileno()).st_size:
                return False
            fh.write(text)
            fh.truncate(len(text))
        return True
    except OSError:
        return False


def creatable_problem(path: str | os.PathLike) -> str | None:
    """Why `path` could not be created (or written into, if it exists), or None. Creates nothing."""
    target = Path(os.path.abspath(os.path.expanduser(str(path))))
    probe = target
    while not os.path.lexists(probe):
        probe = probe.parent
    if not probe.is_dir():
        return f"cannot create {target}: {probe} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"cannot create {target}: {probe} is not writable"
    return None
