"""The figure of a simulated rollout: completion over time by region, disruption per home."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from althan.reports import charts

PNG_NAME = "simulation.png"
SVG_NAME = "simulation.svg"


def plot_simulation(
    out_dir: Path,
    *,
    title: str,
    completion: Mapping[str, Sequence[float]],
    devices_by_region: Mapping[str, int],
    per_home_disruption: Sequence[float],
    median: float,
    p95: float,
    svg: bool = True,
) -> tuple[Path, Path | None]:
    """`simulation.png` (and `.svg`) in `out_dir`."""
    fig = Figure(figsize=(11, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    charts.completion(left, completion, devices_by_region)
    left.set_title(title)
    if per_home_disruption:
        bins = min(40, max(5, len(set(per_home_disruption))))
        right.hist(per_home_disruption, bins=bins, color="tab:red", alpha=0.8)
    for v, ls, lab in ((median, "-", "median"), (p95, "--", "p95")):
        right.axvline(v, color="black", linestyle=ls, linewidth=1, label=f"{lab} {v:.2f} min")
    right.set_xlabel("minutes GSME + IHD + PPMID cut off, per home")
    right.set_ylabel("homes")
    right.set_title("Disruption per home")
    right.legend(loc="upper right")
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / PNG_NAME
    fig.savefig(png, format="png")
    svg_path: Path | None = None
    if svg:
        svg_path = out_dir / SVG_NAME
        fig.savefig(svg_path, format="svg", metadata={"Date": None})
    return png, svg_path
