"""What the user sees while a sweep runs and when it ends.

On a terminal a progress bar drawn by rich (done / failed / running / total, elapsed,
ETA) is redrawn in place; otherwise (CI logs, files) one plain line per finished member,
which stays readable when interleaved with other output. The bar is redrawn only when
rompy asks (no drawing thread), so forked workers inherit nothing that runs. The final
table lists failures first, so the thing to act on is at the top.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Iterable, TextIO

from rompy.cli.terminal import Table, clock, console, is_terminal
from rompy.sweep.records import FAILED_STATUSES


class Progress:
    """Progress of one sweep; `mode` is 'live', 'plain' or 'off' ('auto' picks by TTY)."""

    def __init__(self, total: int, mode: str = "auto", stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "live" if is_terminal(self.stream) else "plain"
        self.mode = mode
        self.total = total
        self.done = self.failed = self.running = self.skipped = 0
        self.t0 = time.monotonic()
        self._last_draw = 0.0
        self._bar = self._bar_column = self._task = None  # rich's Progress, started at the first draw

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

    def withdrawn(self, job) -> None:
        self.running = max(self.running - 1, 0)
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
        if self.mode == "live" and self._bar is not None:
            self.draw(force=True)
            try:
                self._bar.stop()  # leaves the last state on its line, shows the cursor again
            except (OSError, ValueError):
                pass
            self._bar = None

    # -- drawing ------------------------------------------------------------------
    def status_text(self) -> str:
        elapsed = time.monotonic() - self.t0
        ran = self.done - self.skipped
        remaining = self.total - self.done
        eta = "--:--"
        if ran and remaining:
            eta = clock(elapsed / ran * remaining)
        elif not remaining:
            eta = "0:00"
        return (f"{self.done}/{self.total} done, {self.failed} failed, {self.running} running"
                f" | elapsed {clock(elapsed)} | ETA {eta}")

    def draw(self, force: bool = False) -> None:
        if self.mode != "live":
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        try:
            if self._bar is None:
                self._start_bar()
            self._bar_column.complete_style = self._bar_column.finished_style = "red" if self.failed else "green"
            self._bar.update(self._task, completed=self.done, description=self.status_text())
            self._bar.refresh()
        except (OSError, ValueError):
            pass

    def _start_bar(self) -> None:
        from rich.progress import BarColumn, Progress as Bar, TextColumn

        self._bar_column = BarColumn(bar_width=30)
        self._bar = Bar(TextColumn("sweep"), self._bar_column, TextColumn("{task.description}", markup=False),
                        console=console(self.stream), auto_refresh=False, redirect_stdout=False,
                        redirect_stderr=False)
        self._task = self._bar.add_task(self.status_text(), total=max(self.total, 1))
        self._bar.start()

    def _line(self, text: str) -> None:
        self._write(f"rompy: sweep {text}\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def table(members: Iterable[dict[str, Any]], counts: dict[str, int], sweep_dir: str,
          total: int | None = None) -> Table:
    """The end-of-sweep table, from member lines given failures first; a line says how many are not shown."""
    body = []
    for m in members:
        duration = m.get("duration_s")
        if m["status"] == "skipped":
            duration = (m.get("previous") or {}).get("duration_s")
        body.append([
            str(m["member"]), m["status"], "" if m.get("exit_code") is None else str(m["exit_code"]),
            "" if duration is None else f"{duration:.2f}s", m.get("run_id") or "",
            " ".join(o for o in m.get("overrides", []) if not o.startswith(("hydra", "sweep."))),
        ])
    total = len(body) if total is None else total
    totals = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    footer = f"{_members(total)}: {totals or 'none'} | results in {sweep_dir}"
    if total > len(body):
        footer = (f"... {total - len(body)} more not shown (rompy sweeps {sweep_dir} lists them all)\n" + footer)
    return Table(["#", "status", "exit", "time", "run id", "overrides"], body, footer, status_column=1)


def preview(jobs, sweep_dir: str, id_per_command: bool = False) -> Table:
    """What a dry-run sweep prints: every member with the run id the real sweep will use.

    With `id_per_command` (no run_id, no hydra.sweep.dir) the sweep id the run ids start
    with is new for every command, so the footer says how to keep it.
    """
    footer = f"dry run: {_members(len(jobs))} valid; the sweep would write to {sweep_dir}; nothing was created"
    if id_per_command:
        footer += ("\nthe first part of each run id is new for every command: give the sweep a name "
                   "with run_id=NAME (or hydra.sweep.dir=DIR) to run with exactly these ids")
    return Table(["#", "run id", "overrides"], [[str(job.number), job.run_id, job.label] for job in jobs], footer)


def _members(count: int) -> str:
    return f"{count} member" if count == 1 else f"{count} members"
