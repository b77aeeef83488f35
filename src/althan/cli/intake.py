"""`althan intake ...`: suppliers' upgrade outcomes for AltHANCo (business requirement 3).

``submit`` sends a supplier's outcomes to a running DCC's intake, signed with its key (the ZAZ1
key of ``--as`` by default); ``list`` and ``show`` are AltHANCo's view of what was submitted,
reconciled against the DSP's records. Exit codes: 0 done; 1 the DCC refused the submission (its
error printed); 2 bad input.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import typer

from althan.cli import options
from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, fail
from althan.model import TEST_SUPPLIER_EUI

app = typer.Typer(
    name="intake", help="Suppliers' upgrade outcomes, for AltHANCo.", no_args_is_help=True
)

_TYPES = {"json": "application/json", "csv": "text/csv"}


@app.command("submit")
def submit(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON or CSV outcomes."),
    url: str = typer.Option("http://127.0.0.1:8079", "--url", help="The DCC's base URL."),
    user: str = typer.Option(str(TEST_SUPPLIER_EUI), "--as", help="The submitting supplier."),
    key: Path | None = typer.Option(
        None, "--key", exists=True, dir_okay=False, help="Its signing key (PEM); default ZAZ1."
    ),
    fmt: str | None = typer.Option(None, "--format", help="json or csv (default: the suffix)."),
    submission: str | None = typer.Option(
        None, "--submission", help="Your ID for this submission (default: a new UUID)."
    ),
) -> None:
    """Submit upgrade outcomes (device, version, outcome, time) as the supplier `--as`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from althan.duis.schema import find_tool_jar
    from althan.smki.zaz1 import load_zaz1
    from althan.supplier.intake import submit_outcomes

    eui = options.parse_eui(user, "--as")
    kind = (fmt or file.suffix.lstrip(".")).lower()
    if kind not in _TYPES:
        fail(f"format {kind!r}: json or csv (give --format)")
    if key is not None:
        try:
            private = serialization.load_pem_private_key(key.read_bytes(), None)
        except (ValueError, TypeError) as exc:
            fail(f"--key {key}: not a PEM private key ({exc})")
    else:
        try:
            private = load_zaz1(find_tool_jar())[eui][1]
        except KeyError:
            fail(f"no ZAZ1 key for {eui}: give --key")
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        fail("the signing key must be an EC (P-256) key")
    answer = submit_outcomes(
        url, eui, private, file.read_bytes(), _TYPES[kind], submission or str(uuid.uuid4())
    )
    options.print_json(answer.body)
    if answer.status >= 300:
        print(f"error: HTTP {answer.status}: {answer.body.get('error')}", file=sys.stderr)
        raise typer.Exit(1)


@app.command("list")
def intake_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (last line of stdout)."),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """Every submission, with how many of its lines differ from the DSP's records."""
    from althan.dsp import intake

    with options.store_connection(data_dir, db_url) as conn:
        rows = []
        for s in intake.submissions(conn):
            rec = intake.reconcile(conn, s.id)
            rows.append({**s.as_json(), "discrepancies": len(rec.discrepancies) if rec else 0})
    options.print_rows(
        "Upgrade outcomes submitted to AltHANCo",
        ("submission", "supplier", "their ID", "received", "outcomes", "discrepancies"),
        rows,
        lambda r: (
            str(r["submission"]),
            r["supplier"],
            r["submission_ref"],
            r["received_at"],
            str(r["outcomes"]),
            str(r["discrepancies"]),
        ),
        as_json=as_json,
    )


@app.command("show")
def intake_show(
    submission: int = typer.Argument(..., help="The submission number (`althan intake list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (last line of stdout)."),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """One submission reconciled against the DSP's records: every line that differs."""
    from althan.dsp import intake

    with options.store_connection(data_dir, db_url) as conn:
        rec = intake.reconcile(conn, submission)
    if rec is None:
        fail(f"no submission {submission}")
    if as_json:
        options.print_json(rec.as_json())
        return
    s = rec.submission
    options.print_table(
        f"Submission {s.id} of {s.supplier} ({s.submission_ref}): {s.outcomes} lines",
        ("line", "device", "version", "outcome", "discrepancy", "detail"),
        (
            (str(d.line), str(d.device), d.version, d.outcome, d.kind, d.detail)
            for d in rec.discrepancies
        ),
    )
