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
    faults: str | None = typer.Option(
        None,
        "--faults",
        help="Run a seed sweep under this fault plan: a name (default, none, harsh, links, "
        "crash, network) or a JSON plan file; each seed's run is checked for the invariants.",
    ),
    seeds: str | None = typer.Option(
        None, "--seeds", help="Seeds of the sweep, A..B (both included); default: --seed."
    ),
    shards: int = typer.Option(
        1,
        "--shards",
        min=1,
        max=3,
        help="Run the rollout as this many tasks on Dask distributed, by CSP region (same "
        "result for any number); 1: in this process.",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="A Dask scheduler's address (tcp://host:8786) to run the shards or the sweep's "
        "seeds on; default: a local cluster.",
    ),
    image_bytes: int | None = typer.Option(
        None,
        "--image-bytes",
        min=1,
        help="Payload of the OTA image per bridge model, in bytes (default 262144, 256 KiB: "
        "what comparable ZigBee devices' images weigh; a fault sweep's default is 4096).",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=256,
        help="A fault sweep's seeds as tasks on a local Dask cluster of this many worker "
        "processes (at most one per core); 1: one after the other in this process.",
    ),
) -> None:
    """Roll new firmware out to an installed Alt HAN fleet through the DSP; report disruption.

    With --faults / --seeds: one rollout per seed under the fault plan, each checked for the
    invariants; the verdict per seed, exit code 1 when a seed broke one."""
    if faults is not None or seeds is not None:
        if shards > 1:
            raise typer.BadParameter(
                "a fault sweep is not sharded (its fault draws span the regions); its seeds "
                "run in parallel with --workers or --scheduler",
                param_hint="'--shards'",
            )
        _sweep(
            faults or "default",
            seeds or str(seed),
            homes,
            strategy,
            as_json,
            workers=workers,
            scheduler=scheduler,
            image_bytes=image_bytes,
        )
        return
    if workers > 1:
        raise typer.BadParameter(
            "--workers is for a fault sweep (--faults/--seeds); a rollout runs in parallel "
            "with --shards",
            param_hint="'--workers'",
        )
    import dataclasses

    from althan.reports.simulation import plot_simulation
    from althan.runtime.heap import settle
    from althan.runtime.simulate import PAYLOAD_SIZE, STAGES, SimulationError, run_simulation

    out = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="althan-simulate-"))
    if (out / "althan.db").exists():
        raise typer.BadParameter(
            f"{out} already holds a store (althan.db); give a new directory",
            param_hint="'--data-dir'",
        )
    err = Console(stderr=True)
    console = err if as_json else Console()
    payload = PAYLOAD_SIZE if image_bytes is None else image_bytes
    settle()  # this process; each shard's worker settles its own (`althan.runtime.shards`)
    try:
        if shards > 1 or scheduler is not None:
            from althan.runtime.shards import run_sharded

            err.print(f"{shards} shards on {scheduler or 'a local Dask cluster'} …")
            result = run_sharded(
                homes, strategy, seed, out, shards, scheduler=scheduler, payload_size=payload
            )
        else:
            with stage_progress(console, STAGES) as tick:
                result = run_simulation(
                    homes, strategy, seed, out, progress=tick, payload_size=payload
                )
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


def _sweep(
    plan_spec: str,
    seeds: str,
    homes: int,
    strategy: Strategy,
    as_json: bool,
    *,
    workers: int,
    scheduler: str | None,
    image_bytes: int | None,
) -> None:
    from althan.runtime.fault_plan import FaultPlanError, load_plan
    from althan.runtime.simulate import SimulationError
    from althan.runtime.sweep import SeedVerdict, parse_seeds, sweep

    try:
        plan = load_plan(plan_spec)
    except FaultPlanError as e:
        raise typer.BadParameter(str(e), param_hint="'--faults'") from None
    try:
        seed_range = parse_seeds(seeds)
    except SimulationError as e:
        raise typer.BadParameter(str(e), param_hint="'--seeds'") from None
    console = Console(stderr=True) if as_json else Console()
    console.print(
        f"fault sweep: plan {plan_spec}, seeds {seed_range.start}..{seed_range.stop - 1}, "
        f"{homes:,} homes, {strategy.value}"
        + (f", on {scheduler}" if scheduler else f", {workers} workers" if workers > 1 else "")
    )

    def report(v: SeedVerdict) -> None:
        states = ", ".join(f"{k} {n}" for k, n in v.deliveries.items())
        verdict = "ok" if v.ok else f"BROKEN {v.broken}"
        console.print(
            f"seed {v.seed}: {verdict} ({states}; digest {v.digest}; {v.wall_seconds:.1f} s)",
            highlight=False,
            markup=False,
        )

    try:
        verdicts = sweep(
            plan,
            seed_range,
            homes,
            strategy=strategy,
            on_seed=report,
            workers=workers,
            scheduler=scheduler,
            **({} if image_bytes is None else {"payload_size": image_bytes}),
        )
    except SimulationError as e:
        raise typer.BadParameter(str(e)) from None
    bad = [v for v in verdicts if not v.ok]
    console.print(f"{len(verdicts) - len(bad)} of {len(verdicts)} seeds passed")
    if as_json:
        doc = {"ok": not bad, "seeds": [v.as_json() for v in verdicts]}
        sys.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    if bad:
        raise typer.Exit(1)
