"""`althan firmware ...` commands: inspect and build ZigBee OTA upgrade files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from althan.zigbee.ota import (
    OtaError,
    OtaImage,
    integrity_code_valid,
    parse_ota,
    tag_name,
    verify_gbcs_signature,
)
from althan.zigbee.testimage import build_test_image

app = typer.Typer(
    name="firmware", help="Inspect and build ZigBee OTA firmware images.", no_args_is_help=True
)

_PARSE_FORMS: dict[str, Literal["auto", "zigbee", "gbcs"]] = {
    "auto": "auto",
    "zigbee": "zigbee",
    "gbcs": "gbcs",
}
_MAX_TEST_PAYLOAD = 16 * 1024 * 1024


def _fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2, no traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def _number(text: str, what: str, bits: int) -> int:
    """Decimal or 0x-prefixed hexadecimal, range-checked."""
    try:
        value = int(text.strip().replace("_", ""), 0)
    except ValueError:
        raise typer.BadParameter(f"{what}: not a number: {text!r}") from None
    if not 0 <= value < 1 << bits:
        raise typer.BadParameter(f"{what}: {value} does not fit in {bits} bits")
    return value


def _firmware_version(text: str) -> int:
    """A file version as DUIS writes it (exactly 8 hex digits, e.g. 00020000), or a number."""
    t = text.strip()
    if len(t) == 8 and all(c in "0123456789abcdefABCDEF" for c in t):
        return int(t, 16)
    return _number(t, "--version", 32)


def _printable(s: str) -> str:
    """The header string with undecodable bytes shown as \\xNN escapes."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        _fail(f"cannot read {path}: {e.strerror or e}")


def _load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    data = _read(path)
    try:
        if b"BEGIN CERTIFICATE" in data:
            key: object = x509.load_pem_x509_certificate(data).public_key()
        elif b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        _fail(f"{path}: not a PEM public key, private key or certificate ({e})")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        _fail(f"{path}: not an elliptic-curve key")
    return key


def _load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        _fail(f"{path}: not an unencrypted PEM private key ({e})")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        _fail(f"{path}: not a P-256 private key")
    return key


def _summary(img: OtaImage, signature_valid: bool | None) -> dict[str, Any]:
    h = img.header
    return {
        "manufacturer_code": h.manufacturer_code,
        "image_type": h.image_type,
        "file_version": h.file_version,
        "stack_version": h.stack_version,
        "header_version": h.header_version,
        "header_length": h.header_length,
        "header_field_control": h.header_field_control,
        "header_string": _printable(h.header_string),
        "total_image_size": h.total_image_size,
        "security_credential_version": h.security_credential_version,
        "upgrade_file_destination": (
            None if h.upgrade_file_destination is None else str(h.upgrade_file_destination)
        ),
        "minimum_hardware_version": h.minimum_hardware_version,
        "maximum_hardware_version": h.maximum_hardware_version,
        "form": img.form,
        "sub_elements": [{"tag": s.tag, "length": s.length} for s in img.sub_elements],
        "manufacturer_image_length": len(img.manufacturer_image),
        "sha256": img.sha256,
        "image_hash": img.image_hash,
        "gbcs_signature_present": img.gbcs_signature is not None,
        "signature_valid": signature_valid,
        "integrity_code_valid": integrity_code_valid(img),
        "force_replace": img.force_replace,
        "wrapper": img.wrapper,
        "wrapper_offset": img.wrapper_offset,
        "trailing_length": len(img.trailing),
    }


def _optional(value: int | None, width: int) -> str:
    return "-" if value is None else f"0x{value:0{width}X} ({value})"


def _render(img: OtaImage, signature_valid: bool | None, console: Console) -> None:
    h = img.header
    head = Table(title="OTA header", show_header=False)
    head.add_column("field", style="bold")
    head.add_column("value")
    rows = [
        ("manufacturer code", f"0x{h.manufacturer_code:04X}"),
        ("image type", f"0x{h.image_type:04X}"),
        ("file version", f"0x{h.file_version:08X}"),
        ("stack version", f"0x{h.stack_version:04X}"),
        ("header version", f"0x{h.header_version:04X}"),
        ("header length", str(h.header_length)),
        ("field control", f"0x{h.header_field_control:04X}"),
        ("header string", escape(f"'{_printable(h.header_string)}'")),
        ("total image size", str(h.total_image_size)),
        ("security credential version", _optional(h.security_credential_version, 2)),
        (
            "upgrade file destination",
            "-" if h.upgrade_file_destination is None else str(h.upgrade_file_destination),
        ),
        ("minimum hardware version", _optional(h.minimum_hardware_version, 4)),
        ("maximum hardware version", _optional(h.maximum_hardware_version, 4)),
    ]
    for k, v in rows:
        head.add_row(k, v, style=None)
    console.print(head)

    subs = Table(title=f"Sub-elements ({img.form} form)")
    subs.add_column("tag", justify="right")
    subs.add_column("name")
    subs.add_column("length", justify="right")
    for s in img.sub_elements:
        subs.add_row(f"0x{s.tag:04X}", tag_name(s.tag), str(s.length))
    if img.form == "gbcs":
        subs.caption = "gbcs form: synthetic view of the manufacturer image"
    console.print(subs)

    verdict = Table(title="Hashes and verdicts", show_header=False)
    verdict.add_column("what", style="bold")
    verdict.add_column("value", overflow="fold")
    verdict.add_row("file SHA-256", img.sha256)
    verdict.add_row("image hash (SHA-256)", img.image_hash)
    verdict.add_row("form", img.form)
    if img.form == "gbcs":
        verdict.add_row("gbcs signature", "present" if img.gbcs_signature else "absent")
        verdict.add_row(
            "force replace", "-" if img.force_replace is None else str(img.force_replace)
        )
    if signature_valid is not None:
        verdict.add_row(
            "signature valid",
            "[green]yes[/green]" if signature_valid else "[red]no[/red]",
        )
    iic = integrity_code_valid(img)
    if iic is not None:
        verdict.add_row(
            "integrity code (AES-MMO)",
            "[green]valid[/green]" if iic else "[yellow]does not match AES-MMO[/yellow]",
        )
    verdict.add_row(
        "wrapper",
        "none" if img.wrapper is None else f"{img.wrapper} at offset {img.wrapper_offset}",
    )
    verdict.add_row("trailing bytes", str(len(img.trailing)))
    console.print(verdict)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="OTA upgrade file")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="PEM public key/certificate to check a gbcs signature"),
    ] = None,
    form: Annotated[
        str, typer.Option("--form", help="auto, zigbee (strict sub-elements) or gbcs")
    ] = "auto",
) -> None:
    """Show an OTA file's header, sub-elements, hashes and verdicts."""
    mode = _PARSE_FORMS.get(form)
    if mode is None:
        raise typer.BadParameter(f"--form must be auto, zigbee or gbcs, not {form!r}")
    data = _read(file)
    try:
        img = parse_ota(data, form=mode)
    except OtaError as e:
        _fail(f"{file}: {e}")
    valid: bool | None = None
    if public_key is not None:
        valid = verify_gbcs_signature(img, _load_public_key(public_key))
    if as_json:
        print(json.dumps(_summary(img, valid)))
    else:
        _render(img, valid, Console())


@app.command()
def build(
    manufacturer: Annotated[str, typer.Option("--manufacturer", help="manufacturer code")],
    image_type: Annotated[str, typer.Option("--image-type", help="image type")],
    version: Annotated[
        str,
        typer.Option(
            "--version", help="file version: 8 hex digits as in DUIS (00020000), 0x…, or decimal"
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write")],
    min_hw: Annotated[str | None, typer.Option("--min-hw")] = None,
    max_hw: Annotated[str | None, typer.Option("--max-hw")] = None,
    size: Annotated[str, typer.Option("--size", help="manufacturer image bytes")] = "1024",
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="PEM P-256 private key (gbcs form)")
    ] = None,
    form: Annotated[str, typer.Option("--form", help="gbcs or zigbee")] = "gbcs",
    header_string: Annotated[
        str, typer.Option("--header-string", help="at most 32 bytes")
    ] = "althan test image",
) -> None:
    """Build a deterministic test OTA image (optionally gbcs-signed)."""
    if form not in ("gbcs", "zigbee"):
        raise typer.BadParameter(f"--form must be gbcs or zigbee, not {form!r}")
    if (min_hw is None) != (max_hw is None):
        raise typer.BadParameter("--min-hw and --max-hw go together")
    if sign_key is not None and form != "gbcs":
        raise typer.BadParameter("--sign-key needs --form gbcs")
    payload_size = _number(size, "--size", 32)
    if payload_size > _MAX_TEST_PAYLOAD:
        raise typer.BadParameter(f"--size at most {_MAX_TEST_PAYLOAD} bytes")
    key = None if sign_key is None else _load_private_key(sign_key)
    try:
        data = build_test_image(
            _number(manufacturer, "--manufacturer", 16),
            _number(image_type, "--image-type", 16),
            _firmware_version(version),
            min_hw=None if min_hw is None else _number(min_hw, "--min-hw", 16),
            max_hw=None if max_hw is None else _number(max_hw, "--max-hw", 16),
            payload_size=payload_size,
            header_string=header_string,
            form="gbcs" if form == "gbcs" else "zigbee",
            signing_key=key,
        )
    except OtaError as e:
        _fail(str(e))
    try:
        output.write_bytes(data)
    except OSError as e:
        _fail(f"cannot write {output}: {e.strerror or e}")
    img = parse_ota(data)
    print(f"wrote {output}: {len(data)} bytes, form {img.form}, sha256 {img.sha256}")
