"""The charts the reports draw, each once: rollouts as completion over time, fleets as bars.

Figures are built without pyplot's global state (`matplotlib.figure.Figure`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

VARIANT_COLOURS = {"B1": "#1f77b4", "B2": "#2ca02c", "B3": "#ff7f0e", "B4": "#9467bd"}


def downsample(
    times: Sequence[float], total: int | None, points: int = 400
) -> tuple[list[float], list[float]]:
    """At most ~`points` steps of the cumulative curve of sorted `times` (seconds), starting at
    (0, 0): x in hours, y the count so far, or the percent of `total` when it is given."""

    def y(n: int) -> float:
        return 100.0 * n / total if total else float(n)

    xs, ys = [0.0], [0.0]
    stride = max(1, len(times) // points)
    for i in range(stride - 1, len(times), stride):
        xs.append(times[i] / 3600.0)
        ys.append(y(i + 1))
    if times and len(times) % stride != 0:
        xs.append(times[-1] / 3600.0)
        ys.append(y(len(times)))
    return xs, ys


def completion(
    ax: Any,
    times_by_region: Mapping[str, Sequence[float]],
    totals: Mapping[str, int] | None = None,
    *,
    since: str = "the first 11.4",
) -> None:
    """Per region, devices activated (N39) over time: counts, or percent of `totals`."""
    for region in sorted(times_by_region):
        times = sorted(times_by_region[region])
        total = totals.get(region, 0) if totals is not None else None
        if totals is not None and not total:
            continue
        xs, ys = downsample(times, total)
        label = f"{region} ({total:,} devices)" if total else region
        ax.step(xs, ys, where="post", label=label)
    ax.set_xlabel(f"hours since {since}")
    if totals is not None:
        ax.set_ylabel("devices updated (N39 received), %")
        ax.set_ylim(0, 102)
    else:
        ax.set_ylabel("devices activated (N39)")
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", title="CSP region")


def by_region_and_variant(ax: Any, counts: Mapping[str, Mapping[str, int]], title: str) -> None:
    """Stacked bars: devices per CSP region, by Alt HAN variant."""
    regions = sorted(counts)
    bottom = [0] * len(regions)
    for v, colour in VARIANT_COLOURS.items():
        vals = [counts[r].get(v, 0) for r in regions]
        ax.bar(regions, vals, bottom=bottom, label=v, color=colour)
        bottom = [b + x for b, x in zip(bottom, vals, strict=True)]
    ax.set_title(title)
    ax.set_ylabel("devices")
    ax.legend(title="variant")


def svg_of(fig: Figure) -> str:
    """The figure as inline SVG (no date, so equal figures give equal bytes)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]
