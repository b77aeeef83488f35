"""`althan serve` (the DUIS HTTP gateway with its outbox dispatcher) and `althan users ...`.

Exit codes of `users`: 0 done; 2 bad input (malformed EUI, unknown role, unreadable
certificate). Errors are one line on stderr starting ``error:``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from althan.model import EUI64, UserRole

DEFAULT_DATA_DIR = Path("./althan-data")

users_app = typer.Typer(help="DCC users known to the DSP.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", envvar="ALTHAN_HOST", help="Interface to listen on."
    ),
    port: int = typer.Option(
        8079, "--port", min=1, max=65535, envvar="ALTHAN_PORT", help="TCP port."
    ),
    data_dir: Path = typer.Option(
        DEFAULT_DATA_DIR,
        "--data-dir",
        file_okay=False,
        envvar="ALTHAN_DATA_DIR",
        help="The DSP's data directory.",
    ),
    db_url: str | None = typer.Option(
        None,
        "--db-url",
        envvar="ALTHAN_DB_URL",
        help="SQLAlchemy URL (default: SQLite in the data directory).",
    ),
    schema_dir: list[Path] = typer.Option(
        [],
        "--schema-dir",
        help="Also load the DUIS schema in this directory (e.g. a 5.4 one); repeatable. "
        "Requests are validated against the schema of their schemaVersion; the jar's 5.1 "
        "is the default.",
    ),
) -> None:
    """Run the DUIS web interface (POST /api/v1/service{D,S,T}) and the outbox dispatcher.

    Asynchronous responses and DCC alerts are POSTed, signed, to each user's registered
    endpoint (``althan users add --endpoint``), retried with back-off until accepted. SM WAN
    messages for the CSPs stay in the outbox: no network is attached in this mode.
    """
    import uvicorn
    from sqlalchemy import func, select

    from althan.runtime.assemble import build_dsp, register_test_users
    from althan.runtime.service import OutboxDispatcher, create_app, trust_registered_users
    from althan.store.tables import users

    assembly = build_dsp(data_dir, db_url=db_url, schema_dirs=(None, *schema_dir))
    with assembly.dsp.engine.connect() as conn:
        empty = conn.execute(select(func.count()).select_from(users)).scalar_one() == 0
    if empty:  # first start: the ZAZ1 test users DCC Boxed knows, and AltHANCo
        register_test_users(assembly, datetime.now(UTC))
    trust_registered_users(assembly)
    dispatcher = OutboxDispatcher(assembly.dsp)
    app = create_app(assembly, dispatcher=dispatcher)
    Console(stderr=True).print(
        f"althan DUIS gateway on http://{host}:{port}/api/v1/service{{D,S,T}} "
        f"(data: {db_url or data_dir.resolve()})"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


@users_app.command("add")
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
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, "--data-dir", file_okay=False),
    db_url: str | None = typer.Option(None, "--db-url"),
) -> None:
    """Register a user, or update one (roles, endpoint, and the certificate if given)."""
    from cryptography import x509
    from sqlalchemy import select, update

    from althan.dsp.bootstrap import register_user
    from althan.store import open_engine, sqlite_url
    from althan.store.tables import users

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
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(db_url or sqlite_url(data_dir))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.eui == user)).first()
        if row is not None and certificate is None:
            values: dict[str, object] = {
                "roles": ",".join(sorted(r.value for r in role_set)),
                "endpoint": endpoint if endpoint is not None else row.endpoint,
            }
            if name:
                values["name"] = name
            conn.execute(update(users).where(users.c.eui == user).values(**values))
        else:
            register_user(
                conn,
                user,
                name or (row.name if row else str(user)),
                role_set,
                now,
                cert=certificate,
                endpoint=endpoint if endpoint is not None or row is None else row.endpoint,
            )
    engine.dispose()
    print(f"user {user} [{','.join(r.value for r in role_set)}] registered")


@users_app.command("list")
def users_list(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, "--data-dir", file_okay=False),
    db_url: str | None = typer.Option(None, "--db-url"),
) -> None:
    """The registered users: EUI, name, roles, certificate serial, endpoint."""
    from sqlalchemy import select

    from althan.store import open_engine, sqlite_url
    from althan.store.tables import users

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(db_url or sqlite_url(data_dir))
    with engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.eui)).all()
    engine.dispose()
    t = Table(title="DCC users")
    for col in ("EUI", "name", "roles", "cert serial", "endpoint"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r.eui), r.name, r.roles, r.cert_serial or "-", r.endpoint or "-")
    Console(width=200).print(t)
