"""Rollout reports for AltHANCo and the DCC: deployed firmware by variant and region.

An HTML page (with a chart) and a CSV, written side by side.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


def _chart_svg(
    by_region_variant: dict[str, dict[str, int]], completion: Sequence[tuple[float, str]]
) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    regions = sorted(by_region_variant)
    variants = ("B1", "B2", "B3", "B4")
    bottom = [0] * len(regions)
    colours = {"B1": "#1f77b4", "B2": "#2ca02c", "B3": "#ff7f0e", "B4": "#9467bd"}
    for v in variants:
        vals = [by_region_variant[r].get(v, 0) for r in regions]
        ax1.bar(regions, vals, bottom=bottom, label=v, color=colours[v])
        bottom = [b + x for b, x in zip(bottom, vals, strict=True)]
    ax1.set_title("Bridges on the new firmware, by region and variant")
    ax1.set_ylabel("devices")
    ax1.legend(title="variant")
    by_region: dict[str, list[float]] = {}
    for t, region in completion:
        by_region.setdefault(region, []).append(t / 3600)
    for region in sorted(by_region):
        ts = sorted(by_region[region])
        ax2.step(ts, range(1, len(ts) + 1), where="post", label=region)
    ax2.set_title("Activations (N39) over time")
    ax2.set_xlabel("hours since the 11.4")
    ax2.set_ylabel("devices activated")
    if by_region:
        ax2.legend(title="CSP region")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def write_versions_csv(path: Path, versions: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["variant", "region", "firmware_version", "devices"])
        w.writeheader()
        for row in versions:
            w.writerow({k: row[k] for k in w.fieldnames})


def write_report(
    out_dir: Path,
    *,
    title: str,
    summary: dict[str, Any],
    by_region_variant: dict[str, dict[str, int]],
    versions: Sequence[dict[str, Any]],
    completion: Sequence[tuple[float, str]],
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = Environment(
        loader=PackageLoader("althan.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    html = env.get_template("rollout.html.j2").render(
        title=title,
        summary=summary,
        versions=versions,
        chart=_chart_svg(by_region_variant, completion),
    )
    html_path = out_dir / "rollout-report.html"
    csv_path = out_dir / "deployed-firmware.csv"
    html_path.write_text(html)
    write_versions_csv(csv_path, versions)
    return html_path, csv_path
