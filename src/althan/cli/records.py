"""`althan records export`: the DCC's firmware records (business requirement 5).

``--kind versions`` (default): every firmware version change of every device since a time, with
its source (seed, pre-notification, 8.4, N39, 11.2 mismatch) and the request that caused it;
``--kind deployments``: per 11.4 and device, the time of each stage and the outcome.
CSV (a header line, then one line per record) or JSON (one array, one line). Exit 2 on bad
input (a time or EUI that does not parse, no store).
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime
from typing import Any

import typer

from althan.cli import options
from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, fail

app = typer.Typer(name="records", help="The DCC's firmware records.", no_args_is_help=True)


def parse_time(text: str) -> datetime:
    """ISO 8601 (``2026-12-01``, ``2026-12-01T09:00:00Z``); a time without zone is UTC."""
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--since {text!r}: not an ISO 8601 date or time (e.g. 2026-12-01T09:00:00Z)")
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _csv(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r[k] is None else r[k] for k in fields})
    return out.getvalue()


@app.command("export")
def export(
    since: str = typer.Option(..., "--since", help="From this time (ISO 8601; UTC if no zone)."),
    device: str | None = typer.Option(None, "--device", help="Only this device (EUI-64)."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    kind: str = typer.Option("versions", "--kind", help="versions or deployments."),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """Export firmware version changes (or 11.4 deployment records) since a time."""
    from althan.dsp import records

    start = parse_time(since)
    if fmt not in ("csv", "json"):
        fail(f"--format {fmt!r}: csv or json")
    if kind not in ("versions", "deployments"):
        fail(f"--kind {kind!r}: versions or deployments")
    eui = None if device is None else options.parse_eui(device, "--device")
    with options.store_connection(data_dir, db_url) as conn:
        if kind == "versions":
            rows = [r.as_json() for r in records.version_changes(conn, start, eui)]
            fields = records.VERSION_FIELDS
        else:
            rows = [r.as_json() for r in records.deployments(conn, start, eui)]
            fields = records.DEPLOYMENT_FIELDS
    if fmt == "json":
        options.print_json(rows, sort_keys=False)
    else:
        sys.stdout.write(_csv(fields, rows))
