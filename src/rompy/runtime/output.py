"""Copying a model's output, line by line, to rompy's console and to the run's log files.

One copier for every source: a local process's pipes, a container's attached streams,
the log files a SLURM job writes, the progress of an image build. Whole lines only, so
output from several sources interleaves readably; a full disk stops the log file, not
the console, and a closed console stops the console, not the log.
"""

from __future__ import annotations

import logging
import os
import select
import time
from typing import IO

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


class PipeCopier:
    """A process's output pipes, each copied through its own LineCopier by the thread that waits for it.

    No pump threads: starting and joining two threads per model cost more than a short
    model itself once members run side by side on busy cores. `fds()` are the pipes still
    open; `read(fd)` copies what one has ready; `drain()` copies the rest once the model ended.
    """

    def __init__(self, pipes: dict[int, LineCopier]):
        self._copiers = dict(pipes)

    def fds(self) -> list[int]:
        return list(self._copiers)

    def read(self, fd: int) -> None:
        """Copy what `fd` has ready (`readable` said so); at its end, close its copier."""
        copier = self._copiers.get(fd)
        if copier is None:
            return
        try:
            data = os.read(fd, LONGEST_LINE)
        except OSError:  # closed under us (cleanup): nothing left to lose
            data = b""
        if data:
            copier.feed(data)
        else:
            del self._copiers[fd]
            copier.close()

    def drain(self, within: float) -> None:
        """Copy until every pipe ends, or `within` seconds pass (a descendant that kept a pipe open)."""
        deadline = time.monotonic() + within
        while self._copiers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready = readable(self.fds(), remaining)
            for fd in ready:
                self.read(fd)
        for copier in self._copiers.values():
            copier.close()
        self._copiers.clear()


def readable(fds: list[int], timeout: float) -> list[int]:
    """The fds among `fds` that can be read (or have ended) within `timeout` seconds.

    poll, not select: select refuses descriptors numbered 1024 and above, which a long
    Python session that holds many files open gets for every new pipe.
    """
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _ in poller.poll(max(0.0, timeout) * 1000)]
