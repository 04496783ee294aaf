"""Inline SVG charts for the HTML report, drawn from a :class:`~api.reports.view.Grid`'s cells.

No script and no network: each chart is a fixed ``viewBox`` that scales to its box on the page,
with its text escaped. Values are whole numbers (counts, or yuan from fen) and coordinates are
printed with one decimal, so the bytes repeat on every machine.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from html import escape

from api.reports.view import Cell, Chart, Grid, Money

HEIGHT = 250
TOP, BOTTOM, RIGHT = 30, 30, 16
PALETTE = ("9e1b1b", "2f5d8a", "c7852b", "4f7a3a")  # RGB hex, as SVG (after a '#') and XLSX both take it
GUIDE = "9e1b1b"
TONES = {"critical": "9e1b1b", "high": "d2691e", "medium": "d4a017", "low": "8c8c8c"}  # RULES.md severities
ROW = 24  # one category of a horizontal bar chart
FONT = 11  # the tick labels' size, to measure them


def svg(chart: Chart, grid: Grid, width: int = 640) -> str:
    """The chart as one ``<svg>`` element ``width`` units wide (the page scales it to its box).
    Inline in HTML it needs no ``xmlns``, so the page names no address at all."""
    if chart.kind == "line":
        height, body = HEIGHT, _line(chart, grid, width)
    elif chart.kind == "bar":
        height, body = HEIGHT, _columns(chart, grid, width)
    else:
        height, body = _hbars(chart, grid, width)
    title = escape(chart.title)
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
        f"<title>{title}</title>{body}</svg>"
    )


def _number(cell: Cell) -> int:
    """A cell's value on the axis: counts as they are, money in whole yuan."""
    if isinstance(cell, Money):
        return cell.fen // 100
    return cell if isinstance(cell, int) else 0


def _nice_step(top: int, ticks: int = 5) -> int:
    """The smallest 1, 2 or 5 × 10^k step that reaches ``top`` in ``ticks`` steps."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step * ticks >= top:
                return m * step
        step *= 10


def _measure(text: str, size: int = FONT) -> int:
    """The width of ``text`` at ``size`` px: a CJK character is square, a Latin one about half."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 6 // 10 for c in text)


def _label(value: int) -> str:
    return f"{value:,}"


class _Scale:
    """0 … a nice maximum mapped onto ``[start, start + length]`` (upwards when ``flip``)."""

    def __init__(self, values: Sequence[int], start: float, length: float, flip: bool) -> None:
        high = max([1, *values]) * 11 // 10  # a tenth of headroom for the value written above a bar
        self.step = _nice_step(high)
        self.top = self.step * -(-high // self.step)
        self.start, self.length, self.flip = start, length, flip

    def __call__(self, value: int) -> float:
        offset = self.length * value / self.top
        return self.start + self.length - offset if self.flip else self.start + offset

    def ticks(self) -> range:
        return range(0, self.top + 1, self.step)


def _y_axis(scale: _Scale, left: float, right: float) -> str:
    parts = []
    for v in scale.ticks():
        y = scale(v)
        parts.append(f'<line class="grid" x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{_label(v)}</text>')
    base = scale(0)
    parts.append(f'<line class="axis" x1="{left:.1f}" y1="{base:.1f}" x2="{right:.1f}" y2="{base:.1f}"/>')
    return "".join(parts)


def _left_margin(values: Sequence[int]) -> int:
    return 12 + _measure(_label(_Scale(values, 0, 1, True).top))


def _legend(names: Sequence[tuple[str, str, bool]], left: float) -> str:
    """One legend row above the plot: (name, colour, dashed)."""
    parts, x = [], left
    for name, colour, dashed in names:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(f'<line x1="{x:.1f}" y1="14" x2="{x + 22:.1f}" y2="14" stroke="#{colour}" stroke-width="3"{dash}/>')
        parts.append(f'<text class="legend" x="{x + 28:.1f}" y="18">{escape(name)}</text>')
        x += 28 + _measure(name, 12) + 18
    return "".join(parts)


def _line(chart: Chart, grid: Grid, width: int) -> str:
    rows = grid.rows
    columns = {c: [_number(r[c]) for r in rows] for c in (*chart.values, *chart.guides)}
    every_value = [v for vs in columns.values() for v in vs]
    left = _left_margin(every_value)
    y = _Scale(every_value, TOP, HEIGHT - TOP - BOTTOM, flip=True)
    n = max(len(rows), 1)
    band = (width - left - RIGHT) / n

    def x(i: int) -> float:
        return left + band * (i + 0.5)

    parts = [_y_axis(y, left, width - RIGHT)]
    every = -(-n // 12)  # at most about 12 month labels
    for i, row in enumerate(rows):
        if i % every == 0 or i == n - 1:
            parts.append(f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(str(row[0]))}</text>')
    legend = []
    for c in chart.guides:
        if rows:
            level = columns[c][-1]
            parts.append(f'<line x1="{left:.1f}" y1="{y(level):.1f}" x2="{width - RIGHT:.1f}" y2="{y(level):.1f}" '
                         f'stroke="#{GUIDE}" stroke-width="1.5" stroke-dasharray="6 4"/>')  # fmt: skip
            parts.append(f'<text class="guide" x="{width - RIGHT - 4:.1f}" y="{y(level) - 5:.1f}" text-anchor="end">'
                         f'{escape(grid.header[c])} {_label(level)}</text>')  # fmt: skip
    for k, c in enumerate(chart.values):
        colour = PALETTE[(k + 1) % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(columns[c]))
        parts.append(f'<polyline points="{points}" fill="none" stroke="#{colour}" stroke-width="2.5"/>')
        parts += [f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#{colour}"/>' for i, v in enumerate(columns[c])]
        if rows:
            last = columns[c][-1]
            parts.append(f'<text class="value" x="{x(n - 1):.1f}" y="{y(last) - 8:.1f}" text-anchor="middle">{_label(last)}</text>')
        legend.append((grid.header[c], colour, False))
    legend += [(grid.header[c], GUIDE, True) for c in chart.guides]
    parts.append(_legend(legend, left))
    return "".join(parts)


def _columns(chart: Chart, grid: Grid, width: int) -> str:
    rows = grid.rows
    columns = [[_number(r[c]) for r in rows] for c in chart.values]
    every_value = [v for vs in columns for v in vs]
    left = _left_margin(every_value)
    y = _Scale(every_value, TOP, HEIGHT - TOP - BOTTOM, flip=True)
    band = (width - left - RIGHT) / max(len(rows), 1)
    bar = min(48.0, band * 0.7 / len(columns))
    parts = [_y_axis(y, left, width - RIGHT)]
    for i, row in enumerate(rows):
        start = left + band * i + (band - bar * len(columns)) / 2
        for k, values in enumerate(columns):
            top, bx = y(values[i]), start + bar * k
            parts.append(f'<rect x="{bx:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{y(0) - top:.1f}" '
                         f'fill="#{PALETTE[k % len(PALETTE)]}"/>')  # fmt: skip
            parts.append(f'<text class="value" x="{bx + bar / 2:.1f}" y="{top - 4:.1f}" text-anchor="middle">{_label(values[i])}</text>')
        parts.append(f'<text class="tick" x="{left + band * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(str(row[0]))}</text>')  # fmt: skip
    if len(columns) > 1:
        parts.append(_legend([(grid.header[c], PALETTE[k % len(PALETTE)], False) for k, c in enumerate(chart.values)], left))
    return "".join(parts)


def _hbars(chart: Chart, grid: Grid, width: int) -> tuple[int, str]:
    """Horizontal bars, one category a row, its name on the left: long names stay readable."""
    rows = grid.rows
    values = [_number(r[chart.values[0]]) for r in rows]
    names = [str(r[0]) for r in rows]
    left = 8 + max([0, *(_measure(name) for name in names)])
    height = 8 + ROW * max(len(rows), 1) + 22
    x = _Scale(values, left, width - left - RIGHT - 24, flip=False)
    parts = []
    for v in x.ticks():
        parts.append(f'<line class="grid" x1="{x(v):.1f}" y1="4" x2="{x(v):.1f}" y2="{height - 22}"/>')
        parts.append(f'<text class="tick" x="{x(v):.1f}" y="{height - 8}" text-anchor="middle">{_label(v)}</text>')
    for i, (name, v) in enumerate(zip(names, values, strict=True)):
        top = 8 + ROW * i
        parts.append(f'<text class="tick" x="{left - 6:.1f}" y="{top + ROW / 2 + 4:.1f}" text-anchor="end">{escape(name)}</text>')
        colour = TONES.get(chart.tones[i], PALETTE[0]) if i < len(chart.tones) else PALETTE[0]
        parts.append(f'<rect x="{left:.1f}" y="{top + 4:.1f}" width="{x(v) - left:.1f}" height="{ROW - 8}" fill="#{colour}"/>')
        parts.append(f'<text class="value" x="{x(v) + 4:.1f}" y="{top + ROW / 2 + 4:.1f}">{_label(v)}</text>')
    parts.append(f'<line class="axis" x1="{left:.1f}" y1="4" x2="{left:.1f}" y2="{height - 22}"/>')
    return height, "".join(parts)
