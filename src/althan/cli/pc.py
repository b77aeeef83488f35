"""`althan pc ...`: Parse & Correlate, the supplier's checks of what the DCC sends back.

``pc parse FILE`` checks a DUIS response or alert carrying GBCS; ``pc correlate REQUEST
PRECOMMAND`` checks a Transform pre-command against its critical Service Request. ``--json``
prints one JSON object as the last line of stdout (also on an error, with ``exit_code``).
Every failure is one ``error: …`` line on stderr, never a traceback. Exit codes (EXIT_CODES,
docs/supplier.md): 0 valid / identical, 1 not valid / not identical, 2 usage, 3 a file cannot
be read, 4 not XML, 5 XML but not the DUIS document expected, 6 no GBCS in it, 7 unknown device
certificate, 8 a key source or trusted certificate cannot be used, 9 a check needs a key this
party does not hold, 10 not a critical Service Request correlate knows.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from althan.cli.gbcs import message_summary, to_jsonable

app = typer.Typer(
    name="pc",
    help="Parse & Correlate: check the DCC's responses and pre-commands.",
    no_args_is_help=True,
)

EXIT_CODES: dict[str, int] = {
    "valid": 0,
    "invalid": 1,
    "usage": 2,
    "unreadable": 3,
    "not-xml": 4,
    "not-duis": 5,
    "no-gbcs": 6,
    "unknown-certificate": 7,
    "key-source": 8,
    "unverifiable": 9,
    "unsupported": 10,
}
_MAX = 16_000_000

Json = Annotated[bool, typer.Option("--json", help="print one JSON object (last stdout line)")]
Trust = Annotated[
    Path | None,
    typer.Option(
        "--trust",
        help="the DSP's XML-signing certificate (PEM or DER; default: ZAZ1, as DCC Boxed)",
    ),
]


def _exit(kind: str, message: str, as_json: bool, extra: dict[str, Any] | None = None) -> NoReturn:
    code = EXIT_CODES[kind]
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        out = {**(extra or {}), "error": kind, "message": message, "exit_code": code}
        print(json.dumps(out))
    raise typer.Exit(code)


def _read(path: Path, as_json: bool) -> bytes:
    try:
        return sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        _exit("unreadable", f"cannot read {path}: {exc.strerror or exc}", as_json)


def _trust_store(cert_path: Path | None, as_json: bool) -> Any:
    from cryptography import x509

    from althan.duis.schema import SchemaError, find_tool_jar
    from althan.duis.xmldsig import TrustStore
    from althan.smki.zaz1 import Zaz1Error, cert_eui, load_zaz1

    if cert_path is None:
        try:
            return TrustStore(load_zaz1(find_tool_jar()).certificates())
        except (SchemaError, Zaz1Error) as exc:
            _exit("key-source", f"no ZAZ1 certificates (give --trust): {exc}", as_json)
    try:
        data = cert_path.read_bytes()
        cert = (
            x509.load_pem_x509_certificate(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(data)
        )
        return TrustStore([(cert_eui(cert), cert)])
    except (OSError, ValueError) as exc:
        _exit("key-source", f"--trust {cert_path}: not a readable certificate ({exc})", as_json)


def _key_chain(keystore: Path | None, smki: str | None, remote_parties: bool, as_json: bool) -> Any:
    from althan.duis.peers import PeerMissing, keystore_json
    from althan.supplier.credentials import (
        FolderKeys,
        KeyChain,
        KeySource,
        KeySourceError,
        RemotePartyKeys,
        SmkiKeys,
    )
    from althan.supplier.smki_client import SmkiClient, SmkiError

    sources: list[KeySource] = []
    try:
        if keystore is not None:
            sources.append(FolderKeys.load(keystore))
        if smki is not None:
            sources.append(SmkiKeys(SmkiClient(smki)))
        if remote_parties:
            # not installed: the MAC checks that need the ACB's key say so
            with contextlib.suppress(PeerMissing):
                sources.append(RemotePartyKeys.load(keystore_json()))
    except (KeySourceError, SmkiError) as exc:
        _exit("key-source", str(exc), as_json)
    return KeyChain.of(sources)


def _parse_json(result: Any, exit_code: int) -> dict[str, Any]:
    doc = result.document
    gbcs = None
    if result.message is not None:
        gbcs = message_summary(result.message, None)
        for key in ("signature", "mac"):  # verdicts are the checks below
            gbcs.pop(key, None)
    return {
        "outcome": str(result.outcome),
        "valid": result.valid,
        "reason": result.reason,
        "document": {
            "kind": str(doc.kind),
            "response_code": doc.response_code,
            "request_id": doc.request_id,
            "response_id": doc.response_id_text,
            "response_date_time": doc.response_date_time,
            "service_reference_variant": doc.service_reference_variant,
            "alert_code": doc.alert_code,
            "gbcs_holder": doc.gbcs_holder,
            "fields": dict(doc.fields),
        },
        "gbcs": gbcs,
        "checks": [
            {"name": c.name, "verdict": str(c.verdict), "detail": c.detail} for c in result.checks
        ],
        "exit_code": exit_code,
    }


def _print_parse(out: dict[str, Any]) -> None:
    head = {"valid": "valid", "invalid": "NOT VALID"}.get(out["outcome"], out["outcome"].upper())
    typer.echo(f"{head}: {out['reason']}")
    doc = out["document"]
    typer.echo(
        f"document  {doc['kind']} {doc['response_code']}  SRV {doc['service_reference_variant']}"
        f"  RequestID {doc['request_id']}  ResponseID {doc['response_id']}"
        + (f"  alert {doc['alert_code']}" if doc["alert_code"] else "")
    )
    g = out["gbcs"]
    if g is not None:
        typer.echo(
            f"gbcs      {g['use_case']} ({g['message_code_hex']}) {g['cra_flag']} {g['form']}"
            f"  {g['originator']} -> {g['target']}  counter {g['transaction_id']}"
        )
        payload = g["payload"]
        if isinstance(payload, dict):
            for k, v in payload.items():
                typer.echo(f"  {k:<22} {v}")
    for c in out["checks"]:
        typer.echo(f"  [{c['verdict']}] {c['name']}" + (f": {c['detail']}" if c["detail"] else ""))


@app.command("parse")
def parse_cmd(
    file: Annotated[Path, typer.Argument(help="a DUIS response or alert ('-' for stdin)")],
    keystore: Annotated[
        Path | None,
        typer.Option("--keystore", help="folder of <eui>-ds.pem / -ka.pem (/ .key) files"),
    ] = None,
    smki: Annotated[
        str | None,
        typer.Option("--smki", help="SMKI service (DCC Boxed look-ups), e.g. localhost:8083"),
    ] = None,
    trust: Trust = None,
    remote_parties: Annotated[
        bool,
        typer.Option(help="use the ZAZ1 remote parties' keys of the DCC Boxed keystore (npm peer)"),
    ] = True,
    as_json: Json = False,
) -> None:
    """Check FILE: the DSP's XML signature, the GBCS it carries (decoded, consistent with the
    document, the device's signature or MAC against SMKI certificates); print every verdict."""
    from althan.duis.xmlsafe import XmlError
    from althan.supplier.credentials import KeySourceError
    from althan.supplier.documents import NotADuisResponse
    from althan.supplier.parse import Outcome, ResponseParser

    data = _read(file, as_json)
    parser = ResponseParser(
        _trust_store(trust, as_json),
        _key_chain(keystore, smki, remote_parties, as_json),
        max_bytes=_MAX,
    )
    try:
        result = parser.parse(data)
    except XmlError as exc:
        _exit("not-xml", f"{file}: not XML: {exc}", as_json)
    except NotADuisResponse as exc:
        _exit("not-duis", f"{file}: not a DUIS response or alert: {exc}", as_json)
    except KeySourceError as exc:
        _exit("key-source", str(exc), as_json)
    outcome = result.outcome
    code = EXIT_CODES[str(outcome)]
    out = _parse_json(result, code)
    if outcome is Outcome.NO_GBCS:
        _exit("no-gbcs", f"{file}: {result.reason}", as_json, to_jsonable(out))
    if outcome is Outcome.UNKNOWN_CERTIFICATE:
        why = f"{file}: unknown device certificate ({result.reason})"
        _exit("unknown-certificate", why, as_json, to_jsonable(out))
    if as_json:
        print(json.dumps(to_jsonable(out)))
    else:
        _print_parse(out)
    raise typer.Exit(code)


@app.command("correlate")
def correlate_cmd(
    request: Annotated[Path, typer.Argument(help="the critical Service Request (DUIS XML)")],
    precommand: Annotated[
        Path, typer.Argument(help="the DSP's Transform answer with sr:PreCommand (DUIS XML)")
    ],
    trust: Trust = None,
    verify_signature: Annotated[
        bool, typer.Option("--verify/--no-verify", help="check the answer's XML signature")
    ] = True,
    as_json: Json = False,
) -> None:
    """Check that PRECOMMAND is substantively identical to REQUEST (6.15.1, 6.15.2, 8.1.1):
    exit 0 if so, 1 listing every difference by field name."""
    from althan.duis.envelope import EnvelopeError
    from althan.duis.xmlsafe import XmlError
    from althan.supplier.correlate import PreCommandMissing, UnsupportedRequest, correlate
    from althan.supplier.documents import NotADuisResponse

    req, pre = _read(request, as_json), _read(precommand, as_json)
    store = _trust_store(trust, as_json) if verify_signature else None
    try:
        result = correlate(req, pre, store, max_bytes=_MAX)
    except XmlError as exc:
        _exit("not-xml", f"not XML: {exc}", as_json)
    except EnvelopeError as exc:
        _exit("not-duis", f"{request}: not a DUIS request: {exc}", as_json)
    except NotADuisResponse as exc:
        _exit("not-duis", f"{precommand}: not a DUIS response: {exc}", as_json)
    except PreCommandMissing as exc:
        _exit("no-gbcs", f"{precommand}: {exc}", as_json)
    except UnsupportedRequest as exc:
        _exit("unsupported", f"{request}: {exc}", as_json)
    code = EXIT_CODES["valid" if result.identical else "invalid"]
    sig = result.xml_signature
    out = {
        "identical": result.identical,
        "srv": result.srv,
        "request_id": result.request_id,
        "xml_signature": None
        if sig is None
        else {"verdict": str(sig.verdict), "detail": sig.detail},
        "differences": [
            {"field": d.field, "request": d.request, "precommand": d.precommand}
            for d in result.differences
        ],
        "exit_code": code,
    }
    if as_json:
        print(json.dumps(out))
        raise typer.Exit(code)
    if result.identical:
        typer.echo(f"identical: the {result.srv} pre-command matches {result.request_id}")
    else:
        typer.echo(f"NOT IDENTICAL: {len(result.differences)} difference(s)")
    if sig is not None:
        typer.echo(f"  [{sig.verdict}] xml-signature: {sig.detail}")
    for d in result.differences:
        typer.echo(f"  {d.field}: request {d.request} | pre-command {d.precommand}")
    raise typer.Exit(code)
