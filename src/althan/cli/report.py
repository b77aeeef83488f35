"""`althan report`: what is deployed, for AltHANCo and the DCC, from a DSP's data directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, dsp_now, fail


def report(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
    out: Path | None = typer.Option(
        None, "--out", help="Where the HTML and CSV go (default: the data directory)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead."),
    edition: int | None = typer.Option(
        None, "--edition", help="Reproduce edition N of the report delivered to AltHANCo."
    ),
    as_xml: bool = typer.Option(
        False, "--xml", help="With --edition: the signed XML document exactly as delivered."
    ),
    list_editions: bool = typer.Option(
        False, "--editions", help="List the editions delivered to AltHANCo."
    ),
    publish: bool = typer.Option(
        False, "--publish", help="Produce a new edition now and deliver it to AltHANCo."
    ),
) -> None:
    """Deployed Alt HAN firmware by variant, region and version (with CPL status): HTML + CSV.

    The DCC's report to AltHANCo is kept edition by edition (`althan serve` produces one a day):
    ``--editions`` lists them, ``--edition N`` reproduces one exactly (``--json``: its content,
    ``--xml``: the signed document AltHANCo received), ``--publish`` produces one now."""
    from althan.cli.options import store_url
    from althan.reports.deployed import deployed
    from althan.reports.rollout import write_report
    from althan.store import open_engine

    if publish or list_editions or edition is not None:
        _editions(data_dir, db_url, edition, list_editions, publish, as_json, as_xml)
        return
    if as_xml:
        fail("--xml goes with --edition N")
    engine = open_engine(store_url(data_dir, db_url, create=False))
    with engine.connect() as conn:
        rep = deployed(conn)
    if as_json:
        sys.stdout.write(
            json.dumps({**rep.summary(), "by_version": rep.versions}, sort_keys=True) + "\n"
        )
        return
    html, csv_path = write_report(
        out or data_dir,
        title="Deployed Alt HAN firmware",
        summary=rep.summary(),
        by_region_variant=rep.by_region_variant,
        versions=rep.versions,
        completion=[],
        bar_title="Alt HAN bridges by region and variant",
        name="deployed-report",
    )
    t = Table(title="Deployed Alt HAN firmware")
    for c in ("variant", "model", "region", "firmware version", "CPL status", "devices"):
        t.add_column(c, justify="right" if c == "devices" else "left")
    for v in rep.versions:
        t.add_row(
            v["variant"],
            v["model"],
            v["region"],
            v["firmware_version"],
            v["cpl_status"],
            str(v["devices"]),
        )
    console = Console()
    console.print(t)
    console.print(f"report: {html}\ncsv:    {csv_path}")


def _editions(
    data_dir: Path,
    db_url: str | None,
    edition: int | None,
    list_editions: bool,
    publish: bool,
    as_json: bool,
    as_xml: bool,
) -> None:

    from althan.cli.options import open_assembly, store_url
    from althan.reports import editions
    from althan.store import open_engine

    if sum((publish, list_editions, edition is not None)) != 1:
        fail("give one of --edition N, --editions and --publish")
    if publish:
        dsp = open_assembly(data_dir, db_url, create=False).dsp
        e = editions.publish(dsp, dsp_now(data_dir))
        dsp.engine.dispose()
        out = {**e.summary(), "delivered_to": [str(u) for u in e.delivered_to]}
        print(json.dumps(out, sort_keys=True) if as_json else f"edition {e.edition} published")
        return
    engine = open_engine(store_url(data_dir, db_url, create=False))
    with engine.connect() as conn:
        found = editions.all_editions(conn) if list_editions else editions.get(conn, edition or 0)
    engine.dispose()
    if isinstance(found, list):
        rows = [x.summary() for x in found]
        if as_json:
            sys.stdout.write(json.dumps(rows, sort_keys=True) + "\n")
            return
        t = Table(title="Editions of the deployed-firmware report to AltHANCo")
        for c in ("edition", "generated at", "scheduled", "Alt HAN devices", "SHA-256"):
            t.add_column(c)
        for r in rows:
            t.add_row(
                str(r["edition"]),
                r["generated_at"],
                "yes" if r["scheduled"] else "on demand",
                str(r["alt_han_devices"]),
                r["sha256"][:16],
            )
        Console(width=160).print(t)
        return
    if found is None:
        fail(f"no edition {edition} of the report")
    if as_xml:
        sys.stdout.buffer.write(found.document)
        sys.stdout.buffer.flush()
    elif as_json:
        sys.stdout.write(found.content + "\n")
    else:
        data = found.data
        t = Table(
            title=f"Deployed Alt HAN firmware, edition {found.edition} ({data['generated_at']})"
        )
        for c in ("variant", "region", "firmware version", "CPL status", "devices"):
            t.add_column(c, justify="right" if c == "devices" else "left")
        for v in data["by_version"]:
            t.add_row(
                v["variant"], v["region"], v["firmware_version"], v["cpl_status"], str(v["devices"])
            )
        Console().print(t)
