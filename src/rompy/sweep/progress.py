"""What the user sees while a sweep runs and when it ends.

On a terminal a single live line (done / failed / running / total, elapsed, ETA)
is redrawn in place; otherwise (CI logs, files) one plain line per finished member,
which stays readable when interleaved with other output. The final table lists
failures first, so the thing to act on is at the top.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from rompy.sweep.records import FAILED_STATUSES, TABLE_ORDER


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Progress of one sweep; `mode` is 'live', 'plain' or 'off' ('auto' picks by TTY)."""

    def __init__(self, total: int, mode: str = "auto", stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            mode = "live" if isatty is not None and isatty() else "plain"
        self.mode = mode
        self.total = total
        self.done = self.failed = self.running = self.skipped = 0
        self.t0 = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    # -- events -------------------------------------------------------------------
    def skip(self, count: int) -> None:
        self.skipped += count
        self.done += count
        if count and self.mode == "plain":
            self._line(f"resume: {count} member(s) already succeeded, skipped")
        self.draw()

    def started(self, job) -> None:
        self.running += 1
        self.draw()

    def finished(self, job, result, was_running: bool = True) -> None:
        if was_running:
            self.running = max(self.running - 1, 0)
        self.done += 1
        if result.status in FAILED_STATUSES:
            self.failed += 1
        if self.mode == "plain":
            exit_text = "" if result.exit_code is None else f" exit {result.exit_code}"
            duration = "" if result.duration_s is None else f", {result.duration_s:.2f} s"
            message = f": {result.message}" if result.message and result.status != "succeeded" else ""
            self._line(f"[{self.done}/{self.total}] member {job.number} {result.status}"
                       f" ({exit_text.strip()}{duration}) {job.label}{message}")
        self.draw(force=True)

    def tick(self) -> None:
        if self.mode == "live" and time.monotonic() - self._last_draw >= 0.5:
            self.draw()

    def close(self) -> None:
        if self.mode == "live" and self._drawn:
            self.draw(force=True)
            self._write("\n")

    # -- drawing ------------------------------------------------------------------
    def status_text(self) -> str:
        elapsed = time.monotonic() - self.t0
        ran = self.done - self.skipped
        remaining = self.total - self.done
        eta = "--:--"
        if ran and remaining:
            eta = _clock(elapsed / ran * remaining)
        elif not remaining:
            eta = "0:00"
        return (f"sweep: {self.done}/{self.total} done, {self.failed} failed, {self.running} running"
                f" | elapsed {_clock(elapsed)} | ETA {eta}")

    def draw(self, force: bool = False) -> None:
        if self.mode != "live":
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        self._drawn = True
        self._write("\r\x1b[2K" + self.status_text())

    def _line(self, text: str) -> None:
        self._write(f"rompy: sweep {text}\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def table(members: list[dict[str, Any]], counts: dict[str, int], sweep_dir: str) -> str:
    """The end-of-sweep table: failures first, then successes and skips, in member order."""
    rank = {status: i for i, status in enumerate(TABLE_ORDER)}
    rows = sorted(members, key=lambda m: (rank.get(m["status"], 0), m["member"]))
    header = ("#", "status", "exit", "time", "run id", "overrides")
    body = []
    for m in rows:
        duration = m.get("duration_s")
        if m["status"] == "skipped":
            duration = (m.get("previous") or {}).get("duration_s")
        body.append((
            str(m["member"]), m["status"], "" if m.get("exit_code") is None else str(m["exit_code"]),
            "" if duration is None else f"{duration:.2f}s", m.get("run_id") or "",
            " ".join(o for o in m.get("overrides", []) if not o.startswith(("hydra", "sweep."))),
        ))
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *body]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    totals = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    lines.append(f"{len(members)} members: {totals or 'none'} | results in {sweep_dir}")
    return "\n".join(lines) + "\n"


def preview(jobs, sweep_dir: str) -> str:
    """What a dry-run sweep prints: every member with the run id the real sweep will use."""
    header = ("#", "run id", "overrides")
    body = [(str(job.number), job.run_id, job.label) for job in jobs]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(2)]
    lines = ["  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2]]).rstrip()
             for row in [header, *body]]
    lines.append(f"dry run: {len(jobs)} members valid; the sweep would write to {sweep_dir}; nothing was created")
    return "\n".join(lines) + "\n"
