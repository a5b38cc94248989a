"""Small scatter plots as inline SVG: no plotting library, no script, nothing fetched.

A plot is points in series (one colour each, joined in x order when x is numeric) on
linear axes with round ticks, or on named positions when x values are not numbers (a
swept list like `[10,20]`). Each point carries a tooltip naming its member.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

# Okabe-Ito: told apart with every common kind of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
WIDTH, HEIGHT = 360, 240
LEFT, RIGHT, TOP, BOTTOM = 62, 14, 12, 42


@dataclass
class Series:
    label: str
    points: list[tuple[float | str, float, str]] = field(default_factory=list)  # x, y, tooltip


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi], about `count` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= step * factor:
            step *= factor
            break
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def label(value: float) -> str:
    return f"{value:.4g}"


def _span(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.06
    return lo - pad, hi + pad


def scatter(series: list[Series], x_label: str, y_label: str, title: str) -> str:
    """One plot as an <svg> element; x values are numbers, or names placed in order of appearance."""
    points = [p for s in series for p in s.points]
    if not points:
        return ""
    numeric = all(isinstance(x, (int, float)) for x, _, _ in points)
    names: list[str] = []
    if not numeric:
        for x, _, _ in points:
            if str(x) not in names:
                names.append(str(x))
    xs = [float(x) for x, _, _ in points] if numeric else [float(i) for i in range(len(names))]
    x_lo, x_hi = _span(xs) if numeric else (-0.5, len(names) - 0.5)
    y_lo, y_hi = _span([y for _, y, _ in points])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x) -> float:
        value = float(x) if numeric else float(names.index(str(x)))
        return LEFT + (value - x_lo) / (x_hi - x_lo) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h

    out = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
           f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>']
    for tick in nice_ticks(y_lo, y_hi):
        y = py(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label(tick)}</text>')
    x_ticks = nice_ticks(x_lo, x_hi) if numeric else names
    for tick in x_ticks:
        x = px(tick)
        text = label(tick) if numeric else _short(str(tick))
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                   f'{escape(text)}</text>')
    out.append(f'<text class="axis" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    out.append(f'<text class="axis" transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle">{escape(_short(y_label, 34))}</text>')
    for i, one in enumerate(series):
        colour = PALETTE[i % len(PALETTE)] if len(series) > 1 else PALETTE[0]
        ordered = sorted(one.points, key=lambda p: px(p[0]))
        if numeric and len(ordered) > 1 and len(series) <= len(PALETTE):
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in ordered)
            out.append(f'<polyline class="line" points="{path}" stroke="{colour}"/>')
        for x, y, tip in ordered:
            out.append(f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{colour}">'
                       f'<title>{escape(tip)}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def legend(series: list[Series]) -> str:
    if len(series) < 2:
        return ""
    items = "".join(f'<span class="key"><span class="swatch" style="background:{PALETTE[i % len(PALETTE)]}">'
                    f'</span>{escape(s.label)}</span>' for i, s in enumerate(series))
    return f'<div class="legend">{items}</div>'


def _short(text: str, most: int = 18) -> str:
    return text if len(text) <= most else text[: most - 1] + "\u2026"
