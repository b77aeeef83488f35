"""`althan serve`: a live DCC — the DUIS gateway, the network behind it, the SSI, the SMKI."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console

from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, fail

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
        True, "--network/--no-network", help="Run the CSPs, Comms Hubs and homes (one process)."
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

    import uvicorn
    from starlette.routing import Mount

    from althan.reports.editions import publish_due
    from althan.runtime.live import publish_clock
    from althan.runtime.served import ServedDcc, ServeOptions
    from althan.ssi.app import create_ssi_app

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
    dcc = ServedDcc.open(options)
    dsp = dcc.assembly.dsp
    ssi = create_ssi_app(dsp.engine, dsp.services, clock=dcc.clock, dsp=dsp)
    app = dcc.app(
        routes=[Mount("/ssi", ssi)],
        tasks=[
            dsp.expire_quarantine,
            lambda now: publish_due(dsp, now),
            lambda now: publish_clock(data_dir, now, speed),
        ],
    )
    servers = [uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))]
    if smki_port:
        smki = uvicorn.Config(dcc.smki_app(), host=host, port=smki_port, log_level="warning")
        servers.append(uvicorn.Server(smki))
    homes = len(dcc.fleet.fleet.homes)
    Console(stderr=True).print(
        f"althan DCC on http://{host}:{port}: DUIS /api/v1/service{{D,S,T}}, SSI /ssi/"
        + (f"; SMKI on :{smki_port}" if smki_port else "")
        + f"\n  data: {db_url or data_dir.resolve()}"
        + ("  (new store: test inventory seeded)" if dcc.fresh else "")
        + f"\n  network: {homes} homes, {len(dcc.fleet.spare)} spare bridges, "
        f"{speed:g}× DCC time" + ("" if network else " (not run: --no-network)")
    )

    async def run() -> None:
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(run())
