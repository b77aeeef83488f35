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
from matplotlib.figure import Figure

from althan.reports import charts


def _chart_svg(
    by_region_variant: dict[str, dict[str, int]],
    completion: Sequence[tuple[float, str]],
    bar_title: str,
) -> str:
    panels = 2 if completion else 1
    fig = Figure(figsize=(5.5 * panels, 4))
    charts.by_region_and_variant(fig.add_subplot(1, panels, 1), by_region_variant, bar_title)
    if completion:
        by_region: dict[str, list[float]] = {}
        for t, region in completion:
            by_region.setdefault(region, []).append(t)
        ax = fig.add_subplot(1, 2, 2)
        charts.completion(ax, by_region, since="the 11.4")
        ax.set_title("Activations (N39) over time")
    fig.tight_layout()
    return charts.svg_of(fig)


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
