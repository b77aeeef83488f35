"""`althan serve`: a live DCC — the DUIS gateway, the network behind it, the SSI, the SMKI."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, fail

if TYPE_CHECKING:
    from althan.runtime.fast_path import FastPath
    from althan.runtime.served import PreparedStore, ServedDcc, ServeOptions

ENV_WORKER = "ALTHAN_SERVE_WORKER"
"""What the parent of `--workers N` hands each worker: the options and the prepared store."""

_DURATION = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``30m``, ``72h``, ``3d``."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise typer.BadParameter(f"{text!r}: want a number and s, m, h or d (e.g. 72h)")
    return timedelta(seconds=int(m.group(1)) * _UNIT[m.group(2)])


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", envvar="ALTHAN_HOST", help="Interface to listen on."
    ),
    port: int = typer.Option(
        8079, "--port", min=1, max=65535, envvar="ALTHAN_PORT", help="TCP port (DUIS, SSI)."
    ),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
    schema_dir: list[Path] = typer.Option(
        [],
        "--schema-dir",
        help="Also load the DUIS schema in this directory (e.g. a 5.4 one); repeatable. "
        "Requests are validated against the schema of their schemaVersion; the jar's 5.1 "
        "is the default.",
    ),
    speed: float = typer.Option(
        60.0, "--speed", min=0.001, help="DCC seconds per real second (the network's pace)."
    ),
    fleet: int = typer.Option(
        20, "--fleet", min=0, max=100_000, help="Generated Alt HAN homes (on a new store)."
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="The fleet's seed (on a new store)."),
    smki_port: int = typer.Option(
        8083, "--smki-port", min=0, max=65535, help="SMKI repository port (0: not served)."
    ),
    delivery_timeout: str = typer.Option(
        "72h",
        "--delivery-timeout",
        help="An 11.4 delivery with no outcome this long (DCC time) fails: reason timeout, N57.",
    ),
    command_timeout: str = typer.Option(
        "24h",
        "--command-timeout",
        help="A device request (I99) whose device has not answered this long (DCC time) is "
        "answered N58.",
    ),
    network: bool = typer.Option(
        True,
        "--network/--no-network",
        help="Run the CSPs, Comms Hubs and homes (in the one process of all those serving the "
        "store that holds the network lease).",
    ),
    access_log: bool = typer.Option(
        True, "--access-log/--no-access-log", help="Log each HTTP request (uvicorn's access log)."
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Processes answering DUIS and the SSI on the port (uvicorn's supervisor restarts "
        "one that dies). One of them, or of other serves on the same store, runs the network.",
    ),
) -> None:
    """Run a live DCC: the DUIS web services (POST /api/v1/service{D,S,T}), the simulated
    network on a sped-up clock, the Self-Service Interface (/ssi/), the SMKI repository.

    Device requests are acknowledged I99, then the device's response, and the DCC alerts of a
    firmware update (N55, N56, N39), are POSTed, signed, to each user's registered endpoint
    (``althan users add --endpoint``), retried until accepted. A new store gets a test
    inventory: the devices the DCC's request templates address, and `--fleet` Alt HAN homes.
    """
    import asyncio
    import threading

    import uvicorn

    from althan.runtime.served import ServeOptions, prepare_store

    options = ServeOptions(
        data_dir=data_dir,
        db_url=db_url,
        schema_dirs=(None, *schema_dir),
        speed=speed,
        fleet=fleet,
        seed=seed,
        network=network,
        delivery_timeout=duration(delivery_timeout),
        command_timeout=duration(command_timeout),
    )
    if smki_port == port:
        fail(f"--smki-port {smki_port} is the DUIS port")
    prepared = prepare_store(options)
    dcc, app = served_app(options, prepared)
    smki = (
        uvicorn.Server(
            uvicorn.Config(dcc.smki_app(), host=host, port=smki_port, log_level="warning")
        )
        if smki_port
        else None
    )
    homes = len(dcc.fleet.fleet.homes)
    Console(stderr=True).print(
        f"althan DCC on http://{host}:{port}: DUIS /api/v1/service{{D,S,T}}, SSI /ssi/"
        + (f"; SMKI on :{smki_port}" if smki_port else "")
        + (f"; {workers} worker processes" if workers > 1 else "")
        + f"\n  data: {db_url or data_dir.resolve()}"
        + ("  (new store: test inventory seeded)" if prepared.fresh else "")
        + f"\n  network: {homes} homes, {len(dcc.fleet.spare)} spare bridges, "
        f"{speed:g}× DCC time" + ("" if network else " (not run: --no-network)")
    )
    if workers == 1:
        config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=access_log)
        servers = [uvicorn.Server(config)]
        if smki is not None:
            servers.append(smki)

        async def run() -> None:
            await asyncio.gather(*(s.serve() for s in servers))

        asyncio.run(run())
        return
    # several workers: uvicorn's supervisor runs them, each building the app (`worker_app`);
    # this process serves only the SMKI repository, beside the supervisor
    if smki is not None:
        threading.Thread(target=smki.run, name="althan-smki", daemon=True).start()
    os.environ[ENV_WORKER] = json.dumps(_worker_spec(options, prepared))
    uvicorn.run(
        "althan.cli.serve:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
    )


def served_app(options: ServeOptions, prepared: PreparedStore) -> tuple[ServedDcc, FastPath]:
    """One serving process's DCC and its ASGI app: DUIS, the intake, the SSI under /ssi."""
    from starlette.routing import Mount

    from althan.reports.editions import publish_due
    from althan.runtime.heap import settle
    from althan.runtime.live import publish_clock
    from althan.runtime.served import ServedDcc
    from althan.ssi.app import create_ssi_app

    dcc = ServedDcc.open(options, prepared)
    dsp = dcc.assembly.dsp
    ssi = create_ssi_app(dsp.engine, dsp.services, clock=dcc.clock, dsp=dsp)
    app = dcc.app(
        routes=[Mount("/ssi", ssi)],
        tasks=[
            dsp.expire_quarantine,
            lambda now: publish_due(dsp, now),
            lambda now: publish_clock(options.data_dir, now, options.speed),
        ],
    )
    settle()  # what this process keeps is built: the collector leaves it be
    return dcc, app


def worker_app() -> FastPath:
    """uvicorn's factory in each worker of `--workers N`."""
    options, prepared = _from_worker_spec(json.loads(os.environ[ENV_WORKER]))
    return served_app(options, prepared)[1]


def _worker_spec(options: ServeOptions, prepared: PreparedStore) -> dict[str, Any]:
    return {
        "data_dir": str(options.data_dir),
        "db_url": options.db_url,
        "schema_dirs": [None if d is None else str(d) for d in options.schema_dirs],
        "speed": options.speed,
        "fleet": options.fleet,
        "seed": options.seed,
        "network": options.network,
        "delivery_timeout": options.delivery_timeout.total_seconds(),
        "command_timeout": options.command_timeout.total_seconds(),
        "origin_dcc": prepared.origin.dcc.isoformat(),
        "origin_wall": prepared.origin.wall,
        "fresh": prepared.fresh,
    }


def _from_worker_spec(d: dict[str, Any]) -> tuple[ServeOptions, PreparedStore]:
    from althan.runtime.served import ClockOrigin, PreparedStore, ServeOptions

    options = ServeOptions(
        data_dir=Path(d["data_dir"]),
        db_url=d["db_url"],
        schema_dirs=tuple(None if x is None else Path(x) for x in d["schema_dirs"]),
        speed=d["speed"],
        fleet=d["fleet"],
        seed=d["seed"],
        network=d["network"],
        delivery_timeout=timedelta(seconds=d["delivery_timeout"]),
        command_timeout=timedelta(seconds=d["command_timeout"]),
    )
    origin = ClockOrigin(datetime.fromisoformat(d["origin_dcc"]), d["origin_wall"])
    return options, PreparedStore(origin, d["fresh"])
