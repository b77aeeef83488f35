"""`althan duis ...` commands: sign, verify, validate and send DUIS XML.

Every failure ends with one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from althan.duis.envelope import EnvelopeError, RequestId
from althan.duis.namespaces import SR
from althan.duis.schema import DuisSchema, SchemaError, find_tool_jar
from althan.duis.xmldsig import SignatureError, TrustStore, sign, verify
from althan.duis.xmlsafe import XmlError, parse_xml
from althan.smki.zaz1 import Zaz1Error, Zaz1Keys, cert_eui, load_zaz1

app = typer.Typer(
    name="duis", help="Sign, verify, validate and send DUIS XML.", no_args_is_help=True
)

_MAX = 16_000_000


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _read(path: Path) -> bytes:
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    return data


def _load_key_cert(
    key_path: Path, cert_path: Path
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    try:
        key_data = key_path.read_bytes()
        cert_data = cert_path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read key/certificate: {exc}")
    try:
        key = (
            serialization.load_pem_private_key(key_data, None)
            if key_data.lstrip().startswith(b"-----")
            else serialization.load_der_private_key(key_data, None)
        )
    except (ValueError, TypeError) as exc:
        _fail(f"{key_path}: not a private key ({exc})")
    try:
        cert = (
            x509.load_pem_x509_certificate(cert_data)
            if cert_data.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(cert_data)
        )
    except ValueError as exc:
        _fail(f"{cert_path}: not a certificate ({exc})")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        _fail(f"{key_path}: not an EC private key")
    return key, cert


def _zaz1(zaz1_dir: Path | None) -> Zaz1Keys:
    """The ZAZ1 keys of `zaz1_dir`, or of the DCC Boxed jar installed by npm."""
    try:
        return load_zaz1(zaz1_dir or find_tool_jar())
    except SchemaError as exc:  # the jar is not installed
        raise Zaz1Error(str(exc)) from None


def _trust_store(zaz1_dir: Path | None, extra_certs: list[Path]) -> TrustStore:
    try:
        keys = _zaz1(zaz1_dir)
    except Zaz1Error as exc:
        _fail(str(exc))
    store = TrustStore(keys.certificates())
    for p in extra_certs:
        try:
            cert = x509.load_pem_x509_certificate(p.read_bytes())
        except (OSError, ValueError) as exc:
            _fail(f"{p}: not a readable PEM certificate ({exc})")
        try:
            store.add(cert_eui(cert), cert)
        except ValueError as exc:
            _fail(f"{p}: {exc}")
    return store


def _sign_bytes(
    data: bytes, key_path: Path | None, cert_path: Path | None, zaz1_dir: Path | None
) -> bytes:
    if (key_path is None) != (cert_path is None):
        _fail("--key and --cert go together")
    try:
        if key_path is not None and cert_path is not None:
            key, cert = _load_key_cert(key_path, cert_path)
        else:
            root = parse_xml(data, max_bytes=_MAX)
            rid_el = root.find(f"{SR}Header/{SR}RequestID")
            if rid_el is None or not rid_el.text:
                _fail("no RequestID: cannot choose a ZAZ1 key (give --key and --cert)")
            originator = RequestId.parse(rid_el.text).originator
            cert, key = _zaz1(zaz1_dir)[originator]
        return sign(data, key, cert, max_bytes=_MAX)
    except (XmlError, EnvelopeError, SignatureError, Zaz1Error) as exc:
        _fail(str(exc))


@app.command("sign")
def sign_cmd(
    file: Annotated[Path, typer.Argument(help="DUIS XML file ('-' for stdin)")],
    key: Annotated[Path | None, typer.Option(help="private key (PEM or DER PKCS#8)")] = None,
    cert: Annotated[Path | None, typer.Option(help="certificate (PEM or DER)")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write here")] = None,
    zaz1_dir: Annotated[
        Path | None, typer.Option(help="ZAZ1 keys directory (default: the tool jar)")
    ] = None,
) -> None:
    """Sign FILE (by default with the ZAZ1 key of the RequestID originator)."""
    signed = _sign_bytes(_read(file), key, cert, zaz1_dir)
    if output is None:
        sys.stdout.buffer.write(signed + b"\n")
        sys.stdout.buffer.flush()
    else:
        try:
            output.write_bytes(signed)
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}")


@app.command("verify")
def verify_cmd(
    file: Annotated[Path, typer.Argument(help="signed DUIS XML file ('-' for stdin)")],
    zaz1_dir: Annotated[
        Path | None, typer.Option(help="ZAZ1 certificates directory (default: the tool jar)")
    ] = None,
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="extra trusted certificate (PEM)")
    ] = None,
) -> None:
    """Verify FILE's XML signature against the ZAZ1 certificates."""
    data = _read(file)
    store = _trust_store(zaz1_dir, trust or [])
    try:
        v = verify(data, store, max_bytes=_MAX)
    except (XmlError, SignatureError) as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    who = str(v.signer.eui) if v.signer.eui is not None else "unknown EUI"
    typer.echo(f"valid: signed by {who} (serial {v.signer.serial})")


@app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(help="DUIS XML file ('-' for stdin)")],
    schema_dir: Annotated[
        Path | None,
        typer.Option(help="directory with 'DUIS Schema V<x.y>.xsd' (default: 5.1 from the jar)"),
    ] = None,
) -> None:
    """Validate FILE against the DUIS schema with the MP170 overlay."""
    data = _read(file)
    try:
        schema = DuisSchema.load(schema_dir)
        schema.validate(parse_xml(data, max_bytes=_MAX))
    except (XmlError, SchemaError) as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    typer.echo(f"valid: DUIS {schema.version} + MP170 overlay")


@app.command("send")
def send_cmd(
    file: Annotated[Path, typer.Argument(help="DUIS XML file ('-' for stdin)")],
    url: Annotated[str, typer.Option(help="e.g. http://localhost:8079/api/v1/serviceD")],
    do_sign: Annotated[bool, typer.Option("--sign", help="sign first (ZAZ1 key)")] = False,
    timeout: Annotated[float, typer.Option(help="seconds")] = 30.0,
) -> None:
    """POST FILE (application/xml) to URL and print the status and the response body."""
    import httpx

    data = _read(file)
    if do_sign:
        data = _sign_bytes(data, None, None, None)
    try:
        resp = httpx.post(
            url, content=data, headers={"Content-Type": "application/xml"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot POST to {url}: {exc}")
    typer.echo(f"HTTP {resp.status_code}")
    if resp.content:
        sys.stdout.buffer.write(resp.content)
        if not resp.content.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
        sys.stdout.buffer.flush()
    if resp.status_code >= 400:
        raise typer.Exit(1)


@app.command("schema")
def schema_cmd(
    export: Annotated[
        Path, typer.Option("--export", help="directory to write the overlaid schema files into")
    ],
    source: Annotated[
        Path | None,
        typer.Option(help="a DUIS schema directory, jar or .xsd (default: the tool's 5.1)"),
    ] = None,
) -> None:
    """Export the DUIS schema with the SECMP0170 overlay (AltHANDeviceVariant, E080724,
    E080823), so that stock tools can sign and validate MP170 messages.

    The files keep their names; put the directory before the reference tool's jar on the
    Java class path (`java -cp DIR:tool.jar …`) and its Sign and Validate use the overlay."""
    from althan.duis.schema import export_overlaid

    try:
        written = export_overlaid(source, export)
    except (SchemaError, OSError) as exc:
        _fail(str(exc))
    for p in written:
        typer.echo(str(p))
