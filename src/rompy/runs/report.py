"""`rompy report SWEEP_DIR`: one self-contained HTML page about a sweep, written into its folder.

The page needs no server and no network (styles, the table sorting script and the SVG
plots are inline): open it from disk or attach it to an email. It shows the status
counts and durations, the member table (failures first, with their error line; click
a column to sort), and each numeric result the members recorded against each swept
parameter. Members' metrics come from their run records (read through RecordStore),
so a member skipped on resume shows the figures of the run it stands for.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from rompy.runs.diff import shown
from rompy.runs.logs import last_error_line
from rompy.runs.plot import Series, legend, scatter
from rompy.runs.sweeps import SweepView, load_sweep
from rompy.sweep.plan import identity, override_key, varying_keys
from rompy.sweep.records import FAILED_STATUSES, TABLE_ORDER

REPORT_NAME = "report.html"
TEMPLATE = Path(__file__).with_name("report.template.html")  # styles and the sorting script
DURATION = "duration_s"  # plotted like a metric: every member that ran has one
MOST_SERIES = 8  # more combinations of the other swept values than this: one colour, no lines


@dataclass
class Member:
    number: int
    status: str
    exit_code: int | None
    duration_s: float | None
    run_id: str
    message: str
    stderr: str = ""  # the last line the model wrote to stderr, for a failed member
    params: dict[str, str] = field(default_factory=dict)  # swept key -> value as overridden
    metrics: dict[str, float] = field(default_factory=dict)


def members_of(view: SweepView) -> tuple[list[Member], list[str]]:
    """The members with their swept values and metrics, failures first; and the swept keys in order."""
    from rompy.record import RecordStore

    overrides = [line.get("overrides") or [] for line in view.members]
    varying = varying_keys(overrides)
    swept = [k for k in dict.fromkeys(override_key(o) for ov in overrides for o in identity(ov)) if k in varying]
    members = []
    for line in view.members:
        params = {}
        for override in identity(line.get("overrides") or []):
            if override_key(override) in varying:
                params[override_key(override)] = override.partition("=")[2]
        duration = line.get("duration_s")
        if line.get("status") == "skipped":
            duration = (line.get("previous") or {}).get("duration_s", duration)
        record = RecordStore(line["run_dir"]).load() if line.get("run_dir") else None
        metrics = dict(line.get("metrics") or {})
        if record is not None and record.metrics:
            metrics = dict(record.metrics)
        stderr = ""
        if record is not None and line.get("status") in FAILED_STATUSES:
            stderr = last_error_line(record.as_dict(), Path(line["run_dir"]))
        members.append(Member(
            number=int(line.get("member", 0)), status=str(line.get("status")), exit_code=line.get("exit_code"),
            duration_s=duration, run_id=str(line.get("run_id") or ""), message=str(line.get("message") or ""),
            stderr=stderr, params=params, metrics=metrics))
    rank = {status: i for i, status in enumerate(TABLE_ORDER)}
    members.sort(key=lambda m: (rank.get(m.status, 0), m.number))
    return members, swept


def _number(text: str) -> float | str:
    """A swept value as a number where it is one (`5`, or a list of one number such as `[5]`), else its text."""
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") and "," not in text else text
    try:
        value = float(inner)
    except ValueError:
        return text.strip("'\"")
    return value if math.isfinite(value) else text


# -- sections -------------------------------------------------------------------------------
def _header(view: SweepView, members: list[Member]) -> str:
    rows = [("folder", f"<code>{escape(str(view.dir.resolve()))}</code>"), ("state", escape(view.state)),
            ("launcher", escape(view.launcher or "?")), ("started", escape(_when(view.started_at)))]
    if view.duration_s is not None:
        rows.append(("took", f"{view.duration_s:.1f} s"))
    meta = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    note = ""
    if view.state == "running":
        note = ('<p class="note">The sweep is still running: this page shows the members that had finished '
                'when it was written. Run <code>rompy report</code> again for the rest.</p>')
    elif view.state == "stopped":
        note = ('<p class="note">The sweep\'s process ended before writing its summary (killed?): this page '
                'shows the members it recorded. <code>sweep.resume=true</code> runs the others.</p>')
    return f'<h1>Sweep {escape(view.sweep_id)}</h1><dl class="figures meta">{meta}</dl>{note}'


def _outcome(view: SweepView, members: list[Member]) -> str:
    chips = "".join(f'<span class="chip s-{escape(status)}" data-status="{escape(status)}">{n} '
                    f'{escape(status.replace("_", " "))}</span>'
                    for status, n in view.counts.items())
    durations = [m.duration_s for m in members if m.duration_s is not None and m.status != "skipped"]
    figures = [("members", str(len(members)))]
    if durations:
        figures += [("fastest member", f"{min(durations):.2f} s"),
                    ("median member", f"{statistics.median(durations):.2f} s"),
                    ("slowest member", f"{max(durations):.2f} s"),
                    ("all members, added up", f"{sum(durations):.1f} s")]
    rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in figures)
    return f'<h2>Outcome</h2><div class="chips">{chips}</div><dl class="figures">{rows}</dl>'


def _table(members: list[Member], swept: list[str], metric_names: list[str]) -> str:
    heads = ['<th class="num">#</th>', "<th>status</th>", '<th class="num">exit</th>',
             '<th class="num">time (s)</th>', "<th>error</th>", "<th>run id</th>"]
    heads += [f"<th>{escape(key)}</th>" for key in swept]
    heads += [f'<th class="num">{escape(name)}</th>' for name in metric_names]
    body = []
    for m in members:
        failed = m.status in FAILED_STATUSES or m.status == "not_run"
        error = escape(m.message) + (f'<div class="stderr">{escape(m.stderr)}</div>' if m.stderr else "")
        cells = [_num_cell(m.number, str(m.number)),
                 f'<td class="s-{escape(m.status)}" data-v="{_rank(m.status)}">{escape(m.status)}</td>',
                 _num_cell(m.exit_code, "" if m.exit_code is None else str(m.exit_code)),
                 _num_cell(m.duration_s, "" if m.duration_s is None else f"{m.duration_s:.2f}"),
                 f'<td class="msg">{error if failed else ""}</td>',
                 f"<td><code>{escape(m.run_id)}</code></td>"]
        for key in swept:
            value = m.params.get(key, "")
            number = _number(value)
            sort = f' data-v="{number}"' if isinstance(number, float) else ""
            cells.append(f"<td{sort}>{escape(value)}</td>")
        for name in metric_names:
            value = m.metrics.get(name)
            cells.append(_num_cell(value, "" if value is None else shown(value)))
        body.append(f'<tr class="{"failed" if failed else "ok"}" data-member="{m.number}">{"".join(cells)}</tr>')
    return ('<h2>Members</h2><p class="meta">Failures first; click a column to sort.</p><div class="scroll">'
            f'<table class="sortable members"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _num_cell(value: Any, text: str) -> str:
    sort = "" if value is None else f' data-v="{value}"'
    return f'<td class="num"{sort}>{escape(text)}</td>'


def _plots(members: list[Member], swept: list[str], metric_names: list[str]) -> str:
    figures = []
    axes = swept or ["member"]
    for name in [*metric_names, DURATION]:
        for key in axes:
            series = _series(members, name, key, [k for k in swept if k != key])
            svg = scatter(series, key, name, f"{name} against {key}")
            if svg:
                figures.append(f'<figure data-metric="{escape(name)}" data-parameter="{escape(key)}">'
                               f'<figcaption>{escape(name)} against {escape(key)}</figcaption>{svg}'
                               f'{legend(series)}</figure>')
    note = "" if metric_names else (
        '<p class="meta">No member recorded metrics; a postprocessor records them (<code>metrics</code> '
        'in its result, e.g. <code>postprocessor=summary</code>). Durations are plotted below.</p>')
    against = "the swept parameters" if swept else "the member number (nothing was swept)"
    return (f'<h2>Results against {against}</h2>{note}<div class="plots">{"".join(figures)}</div>')


def _series(members: list[Member], name: str, key: str, others: list[str]) -> list[Series]:
    groups: dict[tuple, Series] = {}
    for m in members:
        y = m.duration_s if name == DURATION and m.status != "skipped" else m.metrics.get(name)
        if y is None:
            continue
        x = float(m.number) if key == "member" else _number(m.params.get(key, ""))
        group = tuple(m.params.get(k, "") for k in others)
        label = " ".join(f"{k}={v}" for k, v in zip(others, group)) or "all"
        tip = f"member {m.number} ({m.status}): {key}={m.params.get(key, m.number)}, {name}={shown(y)}"
        groups.setdefault(group, Series(label)).points.append((x, float(y), tip))
    series = list(groups.values())
    if not all(isinstance(x, float) for s in series for x, _, _ in s.points):  # mixed: all as names
        series = [Series(s.label, [(str(x) if isinstance(x, str) else shown(x), y, t) for x, y, t in s.points])
                  for s in series]
    if len(series) > MOST_SERIES:
        series = [Series("all", [p for s in series for p in s.points])]
    return series


def _rank(status: str) -> int:
    return TABLE_ORDER.index(status) if status in TABLE_ORDER else len(TABLE_ORDER)


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, AttributeError):
        return iso or "?"


# -- the page -------------------------------------------------------------------------------
def render(view: SweepView) -> str:
    from rompy import __version__

    members, swept = members_of(view)
    metric_names = sorted({name for m in members for name in m.metrics})
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    body = "".join([
        _header(view, members), _outcome(view, members), _table(members, swept, metric_names),
        _plots(members, swept, metric_names),
        f"<footer>Written by rompy {escape(__version__)} at {now} from {escape(view.dir.name)}/results.jsonl "
        "and the members' run records.</footer>",
    ])
    template = Template(TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(title=escape(f"rompy sweep {view.sweep_id}"), version=escape(__version__), body=body)


def write_report(sweep_dir: Path) -> Path:
    """Write `<sweep_dir>/report.html` (atomically) and return its path."""
    from rompy.runtime.files import write_text_atomic

    view = load_sweep(sweep_dir)
    target = sweep_dir / REPORT_NAME
    write_text_atomic(target, render(view))
    return target
