"""The SSI's charts as plain geometry for its SVG templates (no script, no style sheet needed):
cumulative progress lines over time, and stacked bars.

Everything here is numbers and fixed colour names; the templates draw it (autoescaped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 56
PLOT = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
LEGEND_Y = HEIGHT - 10
COLOURS = {
    "Delivered to CH": "#1f77b4",
    "Transferred": "#ff7f0e",
    "Activated": "#2ca02c",
    "Failed": "#d62728",
    "B1": "#1f77b4",
    "B2": "#2ca02c",
    "B3": "#ff7f0e",
    "B4": "#9467bd",
}
PALETTE = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    colour: str
    points: str  # the SVG polyline "x,y x,y …"
    last: int  # the value reached


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    label: str


class Frame:
    """What every chart here is drawn in: its size, the plot area, the legend's baseline."""

    __slots__ = ()
    width: ClassVar[int] = WIDTH
    height: ClassVar[int] = HEIGHT
    plot: ClassVar[tuple[int, int, int, int]] = PLOT  # left, top, right, bottom
    legend_y: ClassVar[int] = LEGEND_Y


@dataclass(frozen=True, slots=True)
class LineChart(Frame):
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]


def nice_top(n: int) -> tuple[int, int]:
    """An axis top at or above `n` and its tick step (1, 2 or 5 times a power of ten), for
    about four ticks."""
    target = max(n, 1) / 4
    base = 1
    while True:
        for m in (1, 2, 5):
            step = m * base
            if step >= target:
                return -(-max(n, 1) // step) * step, step
        base *= 10


def _y_ticks(top: int, step: int, y: Any) -> tuple[Tick, ...]:
    return tuple(Tick(y(v), f"{v:,}") for v in range(0, top + 1, step))


def _colour(name: str, i: int) -> str:
    return COLOURS.get(name, PALETTE[i % len(PALETTE)])


def progress(
    series: Mapping[str, Sequence[datetime]], total: int, start: datetime, end: datetime
) -> LineChart:
    """Cumulative count of each series' events from `start` to `end` (y up to `total`)."""
    x0, y1, x1, y0 = PLOT
    span = max((end - start).total_seconds(), 1.0)
    top, step = nice_top(total)

    def x(t: datetime) -> float:
        return x0 + (x1 - x0) * min(max((t - start).total_seconds() / span, 0.0), 1.0)

    def y(n: int) -> float:
        return y0 - (y0 - y1) * n / top

    lines = []
    for i, (name, times) in enumerate(series.items()):
        pts = [f"{x0:.1f},{y(0):.1f}"]
        n = 0
        for t in sorted(times):
            pts.append(f"{x(t):.1f},{y(n):.1f}")
            n += 1
            pts.append(f"{x(t):.1f},{y(n):.1f}")
        pts.append(f"{x1:.1f},{y(n):.1f}")
        lines.append(Line(name, _colour(name, i), " ".join(pts), n))
    hours = span / 3600
    x_ticks = tuple(
        Tick(
            x0 + (x1 - x0) * k / 4,
            _duration(span * k / 4) if hours < 48 else f"{hours * k / 4 / 24:.1f} d",
        )
        for k in range(5)
    )
    y_ticks = _y_ticks(top, step, y)
    return LineChart(tuple(lines), x_ticks, y_ticks)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    colour: str
    x: float
    y: float
    height: float
    value: int


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    x: float
    width: float
    total: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class BarChart(Frame):
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...]
    y_ticks: tuple[Tick, ...]


def stacked(table: Mapping[str, Mapping[str, int]], stack_order: Sequence[str] = ()) -> BarChart:
    """One bar per key of `table`, stacked by the keys of its values."""
    names = list(stack_order) or sorted({k for row in table.values() for k in row})
    x0, y1, x1, y0 = PLOT
    top, step = nice_top(max([sum(row.values()) for row in table.values()] or [1]))
    slot = (x1 - x0) / max(len(table), 1)
    bars = []
    for i, (label, row) in enumerate(table.items()):
        base = float(y0)
        segs = []
        for j, name in enumerate(names):
            v = int(row.get(name, 0))
            h = (y0 - y1) * v / top
            base -= h
            segs.append(Segment(name, _colour(name, j), x0 + slot * i + slot * 0.15, base, h, v))
        bars.append(
            Bar(label, x0 + slot * i + slot * 0.15, slot * 0.7, sum(row.values()), tuple(segs))
        )
    legend = tuple((n, _colour(n, j)) for j, n in enumerate(names))
    y_ticks = _y_ticks(top, step, lambda v: y0 - (y0 - y1) * v / top)
    return BarChart(tuple(bars), legend, y_ticks)
