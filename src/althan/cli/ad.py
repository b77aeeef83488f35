"""`althan ad ...`: anomaly detection — thresholds, and the quarantine a DCC operator reviews.

Exit codes: 0 done; 1 refused (a quarantined request already released, rejected or expired);
2 bad input (a threshold of zero or below, an unknown SRV, a malformed EUI or window, no
store). Errors are one line on stderr starting ``error:``; with ``--json`` the last line of
stdout is one JSON value.
"""

from __future__ import annotations

from typing import Any

import typer

from althan.cli import options
from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, fail
from althan.model import EUI64

app = typer.Typer(
    name="ad", help="Anomaly detection: thresholds and the quarantine queue.", no_args_is_help=True
)
quarantine_app = typer.Typer(help="The queue of quarantined requests.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")

AsJson = typer.Option(False, "--json", help="Print JSON (last line of stdout).")


def _scope(user: str | None, all_users: bool) -> EUI64 | None:
    if (user is None) == (not all_users):
        fail("give exactly one of --user EUI and --all-users")
    if user is None:
        return None
    return options.parse_eui(user, "--user")


@app.command("set")
def ad_set(
    srv: str = typer.Option(..., "--srv", help="The Service Reference Variant, e.g. 11.4."),
    window: str = typer.Option(..., "--window", help="Rolling window: 30m, 24h, 7d."),
    user: str | None = typer.Option(None, "--user", help="The user it limits (EUI-64)."),
    all_users: bool = typer.Option(
        False, "--all-users", help="DCC-wide: every user's requests together."
    ),
    max_requests: int | None = typer.Option(
        None, "--max-requests", help="At most this many requests in the window."
    ),
    max_devices: int | None = typer.Option(
        None, "--max-devices", help="At most this many devices named in the window."
    ),
    as_json: bool = AsJson,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """Set (or replace) the threshold of a user, or the DCC-wide one, for one SRV."""
    from althan.dsp import anomaly

    who = _scope(user, all_users)
    try:
        span = anomaly.parse_window(window)
    except anomaly.ThresholdError as exc:
        fail(str(exc))
    dsp = options.open_assembly(data_dir, db_url, create=True).dsp
    engine = dsp.engine
    try:
        with engine.begin() as conn:
            t = anomaly.set_threshold(
                conn,
                dsp.services.srvs,
                user=who,
                srv=srv,
                max_requests=max_requests,
                max_devices=max_devices,
                window=span,
                now=options.dsp_now(data_dir),
            )
    except anomaly.ThresholdError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        options.print_json(t.as_json())
    else:
        print(f"threshold {t.id}: {_describe(t.as_json())}")


@app.command("remove")
def ad_remove(
    srv: str = typer.Option(..., "--srv", help="The Service Reference Variant."),
    user: str | None = typer.Option(None, "--user", help="The user's threshold (EUI-64)."),
    all_users: bool = typer.Option(False, "--all-users", help="The DCC-wide threshold."),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """Remove the threshold of a user, or the DCC-wide one, for one SRV."""
    from althan.dsp import anomaly

    who = _scope(user, all_users)
    with options.store_connection(data_dir, db_url, write=True) as conn:
        removed = anomaly.remove_threshold(conn, user=who, srv=srv)
    if not removed:
        fail(f"no threshold for {who or 'all users'} and SRV {srv}")
    print(f"threshold for {who or 'all users'} and SRV {srv} removed")


def _describe(t: dict[str, Any]) -> str:
    limits = []
    if t["max_requests"] is not None:
        limits.append(f"{t['max_requests']} requests")
    if t["max_devices"] is not None:
        limits.append(f"{t['max_devices']} devices")
    who = t["user"] or "all users"
    return f"{who}, SRV {t['srv']}: at most {' and '.join(limits)} per {t['window']}"


@app.command("list")
def ad_list(
    as_json: bool = AsJson, data_dir: DataDir = DEFAULT_DATA_DIR, db_url: DbUrl = None
) -> None:
    """The thresholds: DCC-wide first, then per user."""
    from althan.dsp import anomaly

    with options.store_connection(data_dir, db_url) as conn:
        rows = [t.as_json() for t in anomaly.list_thresholds(conn)]
    options.print_rows(
        "Anomaly-detection thresholds",
        ("id", "scope", "srv", "max requests", "max devices", "window"),
        rows,
        lambda t: (
            str(t["id"]),
            t["user"] or "all users (DCC-wide)",
            t["srv"],
            "-" if t["max_requests"] is None else str(t["max_requests"]),
            "-" if t["max_devices"] is None else str(t["max_devices"]),
            t["window"],
        ),
        as_json=as_json,
        width=160,
    )


@quarantine_app.command("list")
def quarantine_list(
    status: str | None = typer.Option(
        None, "--status", help="Only Quarantined, Released, Rejected or Expired."
    ),
    as_json: bool = AsJson,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """The quarantined requests (and what became of them), oldest first."""
    from althan.dsp import quarantine

    wanted = None
    if status is not None:
        try:
            wanted = quarantine.Status(status.capitalize())
        except ValueError:
            fail(f"--status {status!r}: one of {', '.join(s.value for s in quarantine.Status)}")
    with options.store_connection(data_dir, db_url) as conn:
        rows = [e.as_json() for e in quarantine.entries(conn, wanted)]
    options.print_rows(
        "Quarantine",
        ("ref", "request", "srv", "devices", "status", "outcome", "reason"),
        rows,
        lambda e: (
            str(e["ref"]),
            e["request_id"],
            e["srv"],
            str(e["devices"]),
            e["status"],
            e["outcome"] or "-",
            e["reason"],
        ),
        as_json=as_json,
        width=220,
    )


def _decision(release: bool, summary: str) -> None:
    """Register `althan ad release` (`release`) or `althan ad reject`: alike but for the outcome."""

    def decide(
        ref: int = typer.Argument(..., help="The QuarantineEventRef (N48 names it)."),
        as_json: bool = AsJson,
        data_dir: DataDir = DEFAULT_DATA_DIR,
        db_url: DbUrl = None,
    ) -> None:
        from althan.dsp.quarantine import QuarantineError

        dsp = options.open_assembly(data_dir, db_url, create=False).dsp
        now = options.dsp_now(data_dir)
        try:
            d = dsp.release(ref, now) if release else dsp.reject(ref, now)
        except QuarantineError as exc:
            fail(str(exc), 1)
        finally:
            dsp.engine.dispose()
        out = {
            "ref": d.ref,
            "request_id": d.request_id,
            "status": d.status.value,
            "code": d.code,
            "detail": d.detail,
        }
        if as_json:
            options.print_json(out)
        else:
            print(f"quarantine {d.ref} ({d.request_id}): {d.status.value}, answered {d.code}")

    app.command("release" if release else "reject", help=summary)(decide)


_decision(
    True, "Release a quarantined request: it is processed now, once; its answer goes to the user."
)
_decision(False, "Reject a quarantined request: never processed; the user is answered E48.")
