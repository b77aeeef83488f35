"""`althan users ...`: the DCC users known to the DSP.

Exit codes: 0 done; 2 bad input (malformed EUI, unknown role, unreadable certificate).
Errors are one line on stderr starting ``error:``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, open_assembly
from althan.cli.options import fail as _fail
from althan.model import EUI64, UserRole

app = typer.Typer(name="users", help="DCC users known to the DSP.", no_args_is_help=True)


@app.command("add")
def users_add(
    eui: str = typer.Option(..., "--eui", help="The user's EUI-64 (hyphenated)."),
    roles: str = typer.Option(..., "--roles", help="Comma-separated DUIS user roles, e.g. IS,GS."),
    cert: Path | None = typer.Option(
        None, "--cert", exists=True, dir_okay=False, help="XML-signing certificate (PEM)."
    ),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="URL that asynchronous responses and alerts are POSTed to."
    ),
    name: str | None = typer.Option(None, "--name", help="Display name (default: the EUI)."),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """Register a user, or update one (roles, endpoint, and the certificate if given).

    A running `althan serve` on the same store trusts a new or replaced certificate at the
    user's next request; no restart is needed."""
    from datetime import UTC, datetime

    from cryptography import x509

    from althan.dsp import users

    try:
        user = EUI64.parse(eui)
    except ValueError as exc:
        _fail(f"--eui {eui!r}: {exc}")
    try:
        role_set = [UserRole(r.strip()) for r in roles.split(",") if r.strip()]
    except ValueError as exc:
        _fail(f"--roles {roles!r}: {exc} (one of {', '.join(r.value for r in UserRole)})")
    if not role_set:
        _fail("--roles: at least one role")
    certificate = None
    if cert is not None:
        try:
            certificate = x509.load_pem_x509_certificate(cert.read_bytes())
        except ValueError as exc:
            _fail(f"--cert {cert}: not a PEM certificate ({exc})")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        _fail(f"--endpoint {endpoint!r}: must be an http:// or https:// URL")
    engine = open_assembly(data_dir, db_url, create=True).dsp.engine
    now = datetime.now(UTC)
    with engine.begin() as conn:
        known = users.get(conn, user)
        name = name or (known.name if known else str(user))
        users.register_user(conn, user, name, role_set, now, cert=certificate, endpoint=endpoint)
    engine.dispose()
    print(f"user {user} [{','.join(r.value for r in role_set)}] registered")


@app.command("list")
def users_list(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """The registered users: EUI, name, roles, certificate serial, endpoint."""
    from althan.cli.options import store_url
    from althan.dsp import users
    from althan.store import open_engine

    engine = open_engine(store_url(data_dir, db_url, create=False))
    with engine.connect() as conn:
        rows = users.all_users(conn)
    engine.dispose()
    t = Table(title="DCC users")
    for col in ("EUI", "name", "roles", "cert serial", "endpoint"):
        t.add_column(col)
    for r in rows:
        roles_text = ",".join(sorted(x.value for x in r.roles))
        t.add_row(str(r.eui), r.name, roles_text, r.cert_serial or "-", r.endpoint or "-")
    Console(width=200).print(t)
