"""`althan cpl ...` commands: the Central Product List of firmware AltHANCo has assured.

Exit codes: 0 done; 1 the DSP refused (the user may not do it, no such entry, already assured);
2 bad input (unreadable or malformed OTA file, bad option values). Every error is one line on
stderr starting ``error:``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from althan.cli.options import DEFAULT_DATA_DIR, DataDir, dsp_now, open_assembly
from althan.dsp import cpl
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64
from althan.runtime.assemble import Assembly
from althan.zigbee.ota import OtaError, parse_ota

app = typer.Typer(
    name="cpl", help="The Central Product List of assured firmware.", no_args_is_help=True
)

AsUser = Annotated[
    str,
    typer.Option(
        "--as",
        help="EUI-64 of the registered user acting (AltHANCo for add and withdraw); "
        f"the test AltHANCo is {ALTHANCO_DEFAULT_EUI}.",
    ),
]


def _fail(message: str, code: int) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _eui(text: str) -> EUI64:
    try:
        return EUI64.parse(text)
    except ValueError as e:
        raise typer.BadParameter(f"--as: not an EUI-64: {text!r} ({e})") from None


def _hex4(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    t = text.strip().upper()
    if len(t) != 4 or any(c not in "0123456789ABCDEF" for c in t):
        raise typer.BadParameter(f"{what}: want 4 hex digits, got {text!r}")
    return t


def _open(data_dir: Path, *, create: bool = False) -> Assembly:
    return open_assembly(data_dir, create=create)


@contextmanager
def _tx(a: Assembly) -> Iterator[Connection]:
    with a.dsp.engine.begin() as conn:
        yield conn


def entry_json(e: cpl.CplEntry) -> dict[str, Any]:
    """One CPL entry as a JSON object (what `list --json` and `add --json` print)."""
    return {
        "id": e.id,
        "manufacturer": e.manufacturer,
        "model": e.model,
        "hw_min": e.hw_min,
        "hw_max": e.hw_max,
        "firmware_version": e.firmware_version,
        "status": e.status,
        "image_sha256": e.image_sha256,
        "image_hash": e.image_hash,
        "assured_by": str(e.assured_by),
        "assured_at": e.assured_at.isoformat(),
    }


def _print_entry(e: cpl.CplEntry, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(entry_json(e), sort_keys=True) + "\n")
        return
    for k, v in entry_json(e).items():
        print(f"{k:17} {v}")


@app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="The OTA upgrade file to assure.")],
    as_user: AsUser,
    manufacturer: Annotated[
        str | None,
        typer.Option(
            "--manufacturer", help="ZigBee manufacturer code, 4 hex digits (default: the header's)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model identifier = OTA image type, 4 hex digits (default: the header's).",
        ),
    ] = None,
    hw_min: Annotated[
        int | None,
        typer.Option(
            "--hw-min",
            min=0,
            max=0xFFFF,
            help="Lowest hardware version covered (default: the header's minimum).",
        ),
    ] = None,
    hw_max: Annotated[
        int | None,
        typer.Option(
            "--hw-max",
            min=0,
            max=0xFFFF,
            help="Highest hardware version covered (default: the header's maximum).",
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print the entry as JSON.")] = False,
) -> None:
    """Assure an OTA image: store it and add an Active CPL entry for it (AltHANCo only)."""
    by = _eui(as_user)
    want_mfr = _hex4(manufacturer, "--manufacturer")
    want_model = _hex4(model, "--model")
    try:
        data = file.read_bytes()
    except OSError as e:
        _fail(f"cannot read {file}: {e.strerror or e}", 2)
    try:
        img = parse_ota(data)
    except OtaError as e:
        _fail(f"{file}: not an OTA upgrade file: {e}", 2)
    h = img.header
    mfr, itype, version = h.manufacturer_hex, h.image_type_hex, h.file_version_hex
    if want_mfr is not None and want_mfr != mfr:
        _fail(f"--manufacturer {want_mfr} but the image header says {mfr}", 2)
    if want_model is not None and want_model != itype:
        _fail(f"--model {want_model} but the image type in the header is {itype}", 2)
    lo = hw_min if hw_min is not None else h.minimum_hardware_version
    hi = hw_max if hw_max is not None else h.maximum_hardware_version
    if lo is None or hi is None:
        _fail("the image header has no hardware version range: give --hw-min and --hw-max", 2)
    if lo > hi:
        _fail(f"hardware range {lo}..{hi} is empty", 2)
    a = _open(data_dir, create=True)
    sha = img.sha256
    try:
        with _tx(a) as conn:
            entry = cpl.add_entry(
                conn,
                by=by,
                manufacturer=mfr,
                model=itype,
                hw_min=lo,
                hw_max=hi,
                firmware_version=version,
                image_sha256=sha,
                image_hash=img.image_hash,
                now=dsp_now(data_dir),
            )
            # stored only once the entry is allowed; the store is content-addressed
            a.dsp.images.put(data)
    except cpl.NotAuthorised as e:
        _fail(str(e), 1)
    except IntegrityError:
        _fail(f"already assured: {mfr}/{itype} hardware {lo}..{hi} version {version}", 1)
    except cpl.CplError as e:
        _fail(str(e), 2)
    _print_entry(entry, as_json)


@app.command("list")
def list_(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list of objects.")] = False,
) -> None:
    """Every CPL entry, oldest first."""
    a = _open(data_dir)
    with a.dsp.engine.connect() as conn:
        es = cpl.entries(conn)
    if as_json:
        sys.stdout.write(json.dumps([entry_json(e) for e in es], sort_keys=True) + "\n")
        return
    t = Table(title="Central Product List")
    t.add_column("id", justify="right")
    for col in (
        "manufacturer",
        "model",
        "hw",
        "version",
        "status",
        "sha256",
        "assured by",
        "assured at",
    ):
        t.add_column(col)
    for e in es:
        t.add_row(
            str(e.id),
            e.manufacturer,
            e.model,
            f"{e.hw_min}..{e.hw_max}",
            e.firmware_version,
            e.status,
            e.image_sha256[:12],
            str(e.assured_by),
            e.assured_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        )
    Console(width=160).print(t)


@app.command("withdraw")
def withdraw(
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The CPL entry id.")],
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")] = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print the entry as JSON.")] = False,
) -> None:
    """Withdraw an entry: no new delivery of its image will be made (AltHANCo only)."""
    by = _eui(as_user)
    if len(reason) > 200:
        _fail(f"--reason is {len(reason)} characters; at most 200", 2)
    a = _open(data_dir)
    try:
        with _tx(a) as conn:
            entry = cpl.set_status(
                conn,
                entry_id,
                cpl.CplStatus.WITHDRAWN,
                by,
                dsp_now(data_dir),
                note=reason or "withdrawn",
            )
    except cpl.CplError as e:
        _fail(str(e), 1)
    _print_entry(entry, as_json)
