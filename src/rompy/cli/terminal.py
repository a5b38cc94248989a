"""What rompy prints for a person: tables and text drawn with rich on a terminal, plain lines elsewhere.

Output to a file, a pipe or a CI log stays plain text (padded columns, no colour, no
escape codes), so it can be grepped and diffed. rich is imported only when something is
drawn on a terminal: a plain run never pays for it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

#: The colour a status is drawn in on a terminal.
STATUS_STYLES = {
    "succeeded": "green", "skipped": "green", "running": "cyan", "failed": "bold red",
    "timed_out": "bold red", "interrupted": "yellow", "not_run": "yellow",
}


def clock(seconds: float) -> str:
    """12:05, or 1:02:03 past an hour."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(seconds: float | None) -> str:
    """0.08s, 12.34s, or a clock from a minute on; '' if unknown."""
    if seconds is None:
        return ""
    return f"{seconds:.2f}s" if seconds < 60 else clock(seconds)


def is_terminal(stream: TextIO | None) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def console(stream: TextIO, **options):
    """A rich Console drawing on `stream` (a terminal)."""
    from rich.console import Console

    return Console(file=stream, highlight=False, **options)


@dataclass
class Table:
    """Columns of text; the last column is not padded (it holds free text: overrides, messages)."""

    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    footer: str = ""
    status_column: int | None = None  # cells of this column are coloured by status on a terminal

    def plain(self) -> str:
        widths = [max(len(row[i]) for row in [self.headers, *self.rows]) for i in range(len(self.headers) - 1)]
        lines = []
        for row in [self.headers, *self.rows]:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines) + "\n"

    def print(self, stream: TextIO | None = None) -> None:
        """Draw the table on a terminal, or write its plain lines anywhere else."""
        stream = stream or sys.stdout
        try:
            if not is_terminal(stream):
                stream.write(self.plain())
            else:
                self._draw(stream)
            stream.flush()
        except BrokenPipeError:
            _quiet_stdout()
        except (OSError, ValueError):
            pass

    def _draw(self, stream: TextIO) -> None:
        from rich import box
        from rich.table import Table as RichTable
        from rich.text import Text

        out = console(stream)
        widths = self._widths(out.width)
        table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for i, header in enumerate(self.headers):
            last = i == len(self.headers) - 1
            table.add_column(header, width=widths[i], no_wrap=not last, overflow="fold" if last else "ellipsis")
        for row in self.rows:
            cells = [Text(cell) for cell in row]  # Text, not markup: `model.depths=[10]` is not a style
            if self.status_column is not None:
                cells[self.status_column].stylize(STATUS_STYLES.get(row[self.status_column], ""))
            table.add_row(*cells)
        out.print(table)
        if self.footer:
            out.print(Text(self.footer))

    def _widths(self, available: int) -> list[int]:
        """Column widths on a terminal `available` wide: each column as wide as its text; when they do not
        fit, the widest columns but the first (the id to copy) are cut, with an ellipsis, until the last,
        free-text column has room to wrap."""
        natural = [max(len(row[i]) for row in [self.headers, *self.rows]) for i in range(len(self.headers))]
        fixed, last = natural[:-1], natural[-1]
        gaps = 3 * (len(natural) - 1)  # padding and separator between two columns
        room = min(last, max(24, len(self.headers[-1])))
        while sum(fixed) + gaps + room > available and len(fixed) > 1 and max(fixed[1:]) > 6:
            widest = max(fixed[1:])
            fixed[fixed.index(widest, 1)] -= 1
        return [*fixed, max(available - sum(fixed) - gaps, room)]


@dataclass
class Document:
    """A titled text of headings, `name  value` pairs and verbatim blocks (`rompy show`, `rompy diff`)."""

    blocks: list[tuple[str, object]] = field(default_factory=list)

    def title(self, text: str, status: str | None = None) -> "Document":
        self.blocks.append(("title", (text, status)))
        return self

    def heading(self, text: str) -> "Document":
        self.blocks.append(("heading", text))
        return self

    def pairs(self, rows: list[tuple[str, str]]) -> "Document":
        if rows:
            self.blocks.append(("pairs", rows))
        return self

    def text(self, text: str) -> "Document":
        self.blocks.append(("text", text.rstrip("\n")))
        return self

    def table(self, table: Table) -> "Document":
        self.blocks.append(("table", table))
        return self

    def plain(self) -> str:
        out: list[str] = []
        for kind, body in self.blocks:
            if kind == "title":
                out.append(body[0])
            elif kind == "heading":
                out += ["", body]
            elif kind == "pairs":
                width = max(len(name) for name, _ in body)
                for name, value in body:
                    lines = value.splitlines() or [""]
                    out.append(f"  {name:{width}}  {lines[0]}".rstrip())
                    out += [f"  {'':{width}}  {line}".rstrip() for line in lines[1:]]
            elif kind == "text":
                out += [f"  {line}".rstrip() for line in body.splitlines()]
            else:
                out += ["  " + line if line else line for line in body.plain().rstrip("\n").splitlines()]
        return "\n".join(out) + "\n"

    def print(self, stream: TextIO | None = None) -> None:
        stream = stream or sys.stdout
        if not is_terminal(stream):
            write(self.plain(), stream)
            return
        from rich.padding import Padding
        from rich.table import Table as RichTable
        from rich.text import Text

        out = console(stream)
        try:
            for kind, body in self.blocks:
                if kind == "title":
                    text, status = body
                    title = Text(text, style="bold")
                    if status:
                        title.highlight_words([status], STATUS_STYLES.get(status, ""))
                    out.print(title)
                elif kind == "heading":
                    out.print()
                    out.print(Text(body, style="bold underline"))
                elif kind == "pairs":
                    grid = RichTable.grid(padding=(0, 2))
                    grid.add_column(style="dim", no_wrap=True)
                    grid.add_column(overflow="fold")
                    for name, value in body:
                        grid.add_row(Text(name), Text(value, style=STATUS_STYLES.get(value, "")))
                    out.print(Padding(grid, (0, 0, 0, 2)))
                elif kind == "text":
                    out.print(Padding(Text(body), (0, 0, 0, 2)))
                else:
                    body._draw(stream)
        except BrokenPipeError:
            _quiet_stdout()


def write(text: str, stream: TextIO | None = None) -> None:
    """Plain text to `stream` (stdout); a closed pipe (`rompy runs | head`) is not an error."""
    stream = stream or sys.stdout
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        _quiet_stdout()


def _quiet_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
