"""`althan gbcs ...` commands."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from althan.gbcs import DlmsData, GbcsError, GbcsMessage, Keystore, Verdict, decode
from althan.model import EUI64, FirmwareVersion

app = typer.Typer(name="gbcs", help="Decode and check GBCS messages.", no_args_is_help=True)

_HEX_RE = re.compile(r"[0-9A-Fa-f\s]+")


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(2)


def read_input(text: str) -> bytes:
    """INPUT as hex, base64, or a path to a file holding hex, base64 or the binary message."""
    raw: bytes | None = None
    p = Path(text)
    try:
        is_file = len(text) < 4096 and p.is_file()
    except OSError:
        is_file = False
    if is_file:
        raw = p.read_bytes()
        if raw[:1] in (b"\xdd", b"\xdf"):
            return raw
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return raw
    t = text.strip()
    if not t:
        raise ValueError("empty input")
    if _HEX_RE.fullmatch(t):
        h = "".join(t.split())
        if len(h) % 2 == 0:
            data = bytes.fromhex(h)
            if data[:1] in (b"\xdd", b"\xdf"):
                return data
    try:
        data = base64.b64decode("".join(t.split()), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if data[:1] in (b"\xdd", b"\xdf"):
        return data
    if _HEX_RE.fullmatch(t) and len("".join(t.split())) % 2 == 0:
        return bytes.fromhex("".join(t.split()))
    raise ValueError("input is neither hex nor base64 of a GBCS message (0xDD/0xDF)")


def to_jsonable(value: Any) -> Any:
    """Payload values as JSON: EUI-64 hyphenated, versions and bytes in hex, times ISO 8601."""
    if isinstance(value, EUI64):
        return str(value)
    if isinstance(value, FirmwareVersion):
        return str(value)
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, DlmsData):
        return {"type": value.tag, "value": to_jsonable(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        out["type"] = type(value).__name__
        return out
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    return value


def message_summary(msg: GbcsMessage, keystore: Keystore | None) -> dict[str, Any]:
    if keystore is None:
        sig = Verdict.ABSENT if msg.signature is None else Verdict.UNKNOWN_KEY
        mac = Verdict.ABSENT if msg.mac is None else Verdict.UNKNOWN_KEY
    else:
        sig = keystore.signature_verdict(msg)
        mac = keystore.mac_verdict(msg)
    oi = msg.other_info
    return {
        "form": "general-ciphering" if msg.is_mac_form else "general-signing",
        "message_code": msg.message_code,
        "message_code_hex": f"0x{msg.message_code:04X}",
        "use_case": msg.use_case,
        "cra_flag": msg.cra_flag.name.lower(),
        "transaction_id": msg.transaction_id,
        "originator": str(msg.originator),
        "target": str(msg.target),
        "date_time": to_jsonable(msg.date_time) if msg.date_time else None,
        "supplementary_remote_party": to_jsonable(oi.supplementary_remote_party_id),
        "supplementary_remote_party_counter": oi.supplementary_remote_party_counter,
        "payload": to_jsonable(msg.payload),
        "signature": str(sig),
        "mac": str(mac),
    }


@app.command("decode")
def decode_cmd(
    input: Annotated[
        str, typer.Argument(help="hex or base64 text, or a file of hex/base64/binary")
    ],
    keystore: Annotated[
        Path | None,
        typer.Option("--keystore", help="folder of <eui>-ds.pem / -ka.pem / .key files"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Decode a GBCS message and check its signature and MAC."""
    try:
        data = read_input(input)
    except (ValueError, OSError) as e:
        raise _fail(str(e)) from None
    try:
        ks = Keystore.load(keystore) if keystore is not None else None
        msg = decode(data)
    except GbcsError as e:
        raise _fail(str(e)) from None
    summary = message_summary(msg, ks)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    console = Console()
    table = Table(
        title=f"GBCS {summary['use_case']} ({summary['message_code_hex']})", show_header=False
    )
    table.add_column("field", style="bold")
    table.add_column("value")
    for key in (
        "form",
        "cra_flag",
        "transaction_id",
        "originator",
        "target",
        "date_time",
        "supplementary_remote_party",
        "supplementary_remote_party_counter",
    ):
        if summary[key] is not None:
            table.add_row(key, str(summary[key]))
    payload = summary["payload"]
    if isinstance(payload, dict):
        table.add_row("payload", str(payload.get("type")))
        for k, v in payload.items():
            if k != "type":
                table.add_row(f"  {k}", json.dumps(v) if not isinstance(v, str) else v)
    colour = {"valid": "green", "invalid": "red"}
    for key in ("signature", "mac"):
        v = summary[key]
        table.add_row(key, f"[{colour.get(v, 'yellow')}]{v}[/]")
    console.print(table)
