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
    by_region_variant: dict[str, dict[str, int]],
    completion: Sequence[tuple[float, str]],
    bar_title: str,
) -> str:
    from matplotlib.figure import Figure

    panels = 2 if completion else 1
    fig = Figure(figsize=(5.5 * panels, 4))
    ax1 = fig.add_subplot(1, panels, 1)
    regions = sorted(by_region_variant)
    bottom = [0] * len(regions)
    colours = {"B1": "#1f77b4", "B2": "#2ca02c", "B3": "#ff7f0e", "B4": "#9467bd"}
    for v, colour in colours.items():
        vals = [by_region_variant[r].get(v, 0) for r in regions]
        ax1.bar(regions, vals, bottom=bottom, label=v, color=colour)
        bottom = [b + x for b, x in zip(bottom, vals, strict=True)]
    ax1.set_title(bar_title)
    ax1.set_ylabel("devices")
    ax1.legend(title="variant")
    if completion:
        ax2 = fig.add_subplot(1, 2, 2)
        by_region: dict[str, list[float]] = {}
        for t, region in completion:
            by_region.setdefault(region, []).append(t / 3600)
        for region in sorted(by_region):
            ts = sorted(by_region[region])
            ax2.step(ts, range(1, len(ts) + 1), where="post", label=region)
        ax2.set_title("Activations (N39) over time")
        ax2.set_xlabel("hours since the 11.4")
        ax2.set_ylabel("devices activated")
        ax2.legend(title="CSP region")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


def versions_csv(versions: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV text, columns in the rows' own key order."""
    fields = list(versions[0]) if versions else ["variant", "region", "firmware_version", "devices"]
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\r\n")
    w.writeheader()
    for row in versions:
        w.writerow({k: row[k] for k in fields})
    return buf.getvalue()


def write_versions_csv(path: Path, versions: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        f.write(versions_csv(versions))


def write_report(
    out_dir: Path,
    *,
    title: str,
    summary: dict[str, Any],
    by_region_variant: dict[str, dict[str, int]],
    versions: Sequence[dict[str, Any]],
    completion: Sequence[tuple[float, str]],
    bar_title: str = "Bridges on the new firmware, by region and variant",
    name: str = "rollout-report",
) -> tuple[Path, Path]:
    """Write `<name>.html` (summary, chart, table) and `deployed-firmware.csv` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = Environment(
        loader=PackageLoader("althan.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    html = env.get_template("rollout.html.j2").render(
        title=title,
        summary=summary,
        versions=versions,
        columns=list(versions[0]) if versions else [],
        chart=_chart_svg(by_region_variant, completion, bar_title),
    )
    html_path = out_dir / f"{name}.html"
    csv_path = out_dir / "deployed-firmware.csv"
    html_path.write_text(html)
    write_versions_csv(csv_path, versions)
    return html_path, csv_path
