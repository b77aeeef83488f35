"""`althan demo`: a whole Alt HAN firmware rollout in the sim runtime, with a report."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from althan.cli.progress import stage_progress


def demo(
    homes: int = typer.Option(300, "--homes", min=1, help="Alt HAN homes in the fleet."),
    seed: int = typer.Option(7, "--seed", help="Same seed, same run."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where the store, images and reports go (default: a new temp dir)."
    ),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON object on stdout."),
) -> None:
    """Generate a fleet, run the whole MP170 flow through signed DUIS, GBCS and OTA, report."""
    from althan.reports.rollout import write_report
    from althan.runtime.demo import STAGES, run_demo

    out = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="althan-demo-"))
    err = Console(stderr=True)
    console = err if as_json else Console()
    with stage_progress(console, STAGES) as tick:
        result = run_demo(homes=homes, seed=seed, data_dir=out, progress=tick)
    html, csv_path = write_report(
        out,
        title=f"althan demo: {homes} homes, seed {seed}",
        summary=result.summary(),
        by_region_variant=result.by_region_variant,
        versions=result.versions,
        completion=result.completion,
    )
    t = Table(title="Alt HAN firmware rollout")
    t.add_column("what")
    t.add_column("value", justify="right")
    s = result.summary()
    for k in ("homes", "devices", "commissioned", "updated", "failed", "n39_alerts", "readback_ok"):
        t.add_row(k, str(s[k]))
    t.add_row("bridges by variant", ", ".join(f"{k} {v}" for k, v in s["by_variant"].items()))
    t.add_row("DCC alerts received", ", ".join(f"{k} {v}" for k, v in s["alerts"].items()))
    t.add_row("virtual time", f"{result.virtual_seconds / 3600:.2f} h")
    t.add_row("wall time", f"{result.wall_seconds:.1f} s")
    console.print(t)
    console.print(f"report: {html}\ncsv:    {csv_path}")
    if as_json:
        sys.stdout.write(json.dumps(s, sort_keys=True) + "\n")
    if result.failed:
        raise typer.Exit(1)
