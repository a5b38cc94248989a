"""Copying a model's output, line by line, to rompy's console and to the run's log files.

One copier for every source: a local process's pipes, a container's attached streams,
the log files a SLURM job writes, the progress of an image build. Whole lines only, so
output from several sources interleaves readably; a full disk stops the log file, not
the console, and a closed console stops the console, not the log.
"""

from __future__ import annotations

import logging
import threading
from typing import IO, Iterable

log = logging.getLogger("rompy.runtime")

#: A line longer than this without a newline is written as it is, not held back.
LONGEST_LINE = 65536


class LineCopier:
    """Write whole lines of what is fed to `console` (text) and `log_file` (bytes); either may be None."""

    def __init__(self, console: IO[str] | None, log_file: IO[bytes] | None = None):
        self.console, self.log_file = console, log_file
        self._partial = b""

    def feed(self, data: bytes) -> None:
        buffer = self._partial + data
        cut = buffer.rfind(b"\n") + 1
        if cut:
            self._write(buffer[:cut])
            buffer = buffer[cut:]
        if len(buffer) > LONGEST_LINE:
            self._write(buffer)
            buffer = b""
        self._partial = buffer

    def close(self) -> None:
        """Write what is left of a last line without newline."""
        if self._partial:
            self._write(self._partial)
            self._partial = b""

    def _write(self, data: bytes) -> None:
        if self.log_file is not None:
            try:
                self.log_file.write(data)
                self.log_file.flush()
            except ValueError:  # the log was closed after a stuck stream was abandoned
                self.log_file = None
            except OSError as exc:  # e.g. disk full: keep the console going
                log.error("cannot write %s: %s; logging to the console only", self.log_file.name, exc.strerror)
                self.log_file = None
        if self.console is not None:
            try:
                self.console.write(data.decode("utf-8", errors="replace"))
                self.console.flush()
            except (ValueError, OSError):  # console closed: keep logging to the file
                self.console = None


def copying_thread(chunks: Iterable[bytes], copier: LineCopier, name: str) -> threading.Thread:
    """A daemon thread (not started) that feeds `chunks` to `copier` until they end."""

    def pump() -> None:
        try:
            for chunk in chunks:
                copier.feed(chunk)
        except Exception as exc:  # the stream was closed under us (cleanup): nothing left to lose
            log.debug("%s ended: %s", name, exc)
        finally:
            copier.close()

    return threading.Thread(target=pump, name=name, daemon=True)
