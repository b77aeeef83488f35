"""`althan report`: what is deployed, for AltHANCo and the DCC, from a DSP's data directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl


def report(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
    out: Path | None = typer.Option(
        None, "--out", help="Where the HTML and CSV go (default: the data directory)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead."),
) -> None:
    """Deployed Alt HAN firmware by variant, region and version (with CPL status): HTML + CSV."""
    from althan.cli.options import store_url
    from althan.reports.deployed import deployed
    from althan.reports.rollout import write_report
    from althan.store import open_engine

    engine = open_engine(store_url(data_dir, db_url, create=False))
    with engine.connect() as conn:
        rep = deployed(conn)
    if as_json:
        sys.stdout.write(
            json.dumps({**rep.summary(), "by_version": rep.versions}, sort_keys=True) + "\n"
        )
        return
    html, csv_path = write_report(
        out or data_dir,
        title="Deployed Alt HAN firmware",
        summary=rep.summary(),
        by_region_variant=rep.by_region_variant,
        versions=rep.versions,
        completion=[],
        bar_title="Alt HAN bridges by region and variant",
        name="deployed-report",
    )
    t = Table(title="Deployed Alt HAN firmware")
    for c in ("variant", "model", "region", "firmware version", "CPL status", "devices"):
        t.add_column(c, justify="right" if c == "devices" else "left")
    for v in rep.versions:
        t.add_row(
            v["variant"],
            v["model"],
            v["region"],
            v["firmware_version"],
            v["cpl_status"],
            str(v["devices"]),
        )
    console = Console()
    console.print(t)
    console.print(f"report: {html}\ncsv:    {csv_path}")
