"""`althan devices list | spare`: the SMI's devices, and the ones physically present it lacks.

Both read the store (a running `althan serve` may be using it) and end stdout with one JSON
array with `--json`. Exit 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence

import typer
from rich.console import Console
from rich.table import Table

from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, fail
from althan.model import EUI64, AltHANVariant, DeviceStatus, DeviceType

app = typer.Typer(name="devices", help="Devices of the SMI, and spare ones.", no_args_is_help=True)

AsJson = typer.Option(False, "--json", help="One JSON array (the last line of stdout).")


def _print(rows: Sequence[Mapping[str, str | None]], as_json: bool, title: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rows, sort_keys=True) + "\n")
        return
    t = Table(title=f"{title} ({len(rows)})")
    cols = list(rows[0]) if rows else []
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*(r[c] or "-" for c in cols))
    Console(width=220).print(t)


Choice = type[DeviceType | AltHANVariant | DeviceStatus]


def _choice(value: str | None, allowed: Choice, what: str) -> str | None:
    if value is None:
        return None
    try:
        return str(allowed(value))
    except ValueError:
        fail(f"{what} {value!r}: one of {', '.join(m.value for m in allowed)}")


@app.command("list")
def list_(
    device_type: str | None = typer.Option(None, "--type", help="ESME, GSME, CHF, PPMID, …"),
    variant: str | None = typer.Option(None, "--variant", help="B1, B2, B3 or B4."),
    status: str | None = typer.Option(None, "--status", help="Pending, Commissioned, …"),
    supplier: str | None = typer.Option(None, "--supplier", help="The responsible user's EUI."),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
    as_json: bool = AsJson,
) -> None:
    """The SMI's device records (firmware version as 8 hex digits)."""
    from althan.cli.options import store_url
    from althan.dsp import smi
    from althan.store import open_engine

    who: EUI64 | None = None
    if supplier is not None:
        try:
            who = EUI64.parse(supplier)
        except ValueError as exc:
            fail(f"--supplier {supplier!r}: {exc}")
    filters = {
        "device_type": _choice(device_type, DeviceType, "--type"),
        "variant": _choice(variant, AltHANVariant, "--variant"),
        "status": _choice(status, DeviceStatus, "--status"),
    }
    engine = open_engine(store_url(data_dir, db_url, create=False))
    with engine.connect() as conn:
        rows = smi.listing(conn, supplier=who, **filters)
    engine.dispose()
    _print(rows, as_json, "devices")


@app.command("spare")
def spare(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
    as_json: bool = AsJson,
) -> None:
    """Bridges physically present in the served homes that the SMI does not know yet: what a
    supplier can pre-notify (12.2) and install (8.11)."""
    from althan.cli.options import store_url
    from althan.runtime.inventory import FleetSpec, served_fleet, spare_devices
    from althan.store import open_engine

    spec = FleetSpec.load(data_dir)
    if spec is None:
        fail(f"no served network in {data_dir}: start `althan serve --data-dir {data_dir}` first")
    engine = open_engine(store_url(data_dir, db_url, create=False))
    with engine.connect() as conn:
        found = spare_devices(conn, served_fleet(spec))
    engine.dispose()
    rows: list[dict[str, str | None]] = [
        {
            "eui": str(b.eui),
            "device_type": b.device_type.value,
            "variant": b.variant.value,
            "chf": str(h.chf),
            "manufacturer": f"{b.manufacturer_code:04X}",
            "model": f"{b.image_type:04X}{b.hardware_version:04X}",
            "firmware_version": f"{b.firmware_version:08X}",
        }
        for h, b in found
    ]
    _print(rows, as_json, "spare devices")
