"""`althan simulate`: a firmware rollout to an installed fleet through the real DSP, with
disruption figures and a plot of completion over time."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from althan.cli.progress import stage_progress
from althan.han.config import Strategy


def simulate(
    homes: int = typer.Option(
        1_000, "--homes", min=1, max=1_000_000, help="Alt HAN homes in the fleet."
    ),
    strategy: Strategy = typer.Option(
        Strategy.HAN_AWARE,
        "--strategy",
        case_sensitive=False,
        help="How Comms Hubs serve the images: naive or han-aware.",
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="Same seed, same run."),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        file_okay=False,
        help="A new directory for the store, images and plots (default: a new temp dir).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="End stdout with one JSON object (progress goes to stderr)."
    ),
) -> None:
    """Roll new firmware out to an installed Alt HAN fleet through the DSP; report disruption."""
    import dataclasses

    from althan.reports.simulation import plot_simulation
    from althan.runtime.simulate import STAGES, SimulationError, run_simulation

    out = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="althan-simulate-"))
    if (out / "althan.db").exists():
        raise typer.BadParameter(
            f"{out} already holds a store (althan.db); give a new directory",
            param_hint="'--data-dir'",
        )
    err = Console(stderr=True)
    console = err if as_json else Console()
    try:
        with stage_progress(console, STAGES) as tick:
            result = run_simulation(homes, strategy, seed, out, progress=tick)
    except SimulationError as e:
        raise typer.BadParameter(str(e)) from None
    png, svg = plot_simulation(
        out,
        title=f"Completion by region: {result.homes:,} homes, {result.strategy.value}, "
        f"seed {result.seed}",
        completion=result.completion,
        devices_by_region=result.devices_by_region,
        per_home_disruption=result.per_home_disruption,
        median=result.disruption_minutes.median,
        p95=result.disruption_minutes.p95,
    )
    result = dataclasses.replace(result, png=png, svg=svg)

    s = result.summary()
    t = Table(title=f"Alt HAN firmware rollout: {strategy.value}, seed {seed}")
    t.add_column("what")
    t.add_column("value", justify="right")
    for k in ("homes", "devices", "updated", "failed", "n39_alerts"):
        t.add_row(k, f"{s[k]:,}")
    t.add_row("virtual time (first 11.4 → last N39)", f"{result.virtual_seconds / 3600:.2f} h")
    t.add_row("wall time", f"{result.wall_seconds:.1f} s")
    dm = result.disruption_minutes
    t.add_row(
        "disruption / home (median, p95, max)", f"{dm.median:.2f}, {dm.p95:.2f}, {dm.max:.2f} min"
    )
    lm = result.lost_messages
    t.add_row("lost HAN msgs / home (median, p95, max)", f"{lm.median:g}, {lm.p95:g}, {lm.max:g}")
    t.add_row("outage windows / home (mean)", f"{result.outage_windows_mean:.2f}")
    for region, b in result.csp_bytes.items():
        done = result.completion.get(region, ())
        last = f", done in {done[-1] / 3600:.2f} h" if done else ""
        t.add_row(
            f"{region}: SM WAN bytes", f"{b:,} ({result.devices_by_region[region]:,} devices{last})"
        )
    t.add_row("DCC alerts received", ", ".join(f"{k} {v:,}" for k, v in result.alerts.items()))
    console.print(t)
    for p in (result.png, result.svg):
        if p is not None:
            console.print(f"plot: {p}")
    if as_json:
        sys.stdout.write(json.dumps(s, sort_keys=True) + "\n")
    if result.failed:
        raise typer.Exit(1)
