"""`althan serve`: the DUIS HTTP gateway with its outbox dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

DEFAULT_DATA_DIR = Path("./althan-data")


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

    from althan.runtime.assemble import build_dsp, register_test_users
    from althan.runtime.dispatcher import OutboxDispatcher
    from althan.runtime.service import create_app

    assembly = build_dsp(data_dir, db_url=db_url, schema_dirs=(None, *schema_dir))
    # the ZAZ1 test users DCC Boxed knows, and AltHANCo (what users registered is kept)
    register_test_users(assembly, datetime.now(UTC))
    dispatcher = OutboxDispatcher(assembly.dsp)
    app = create_app(assembly, dispatcher=dispatcher)
    Console(stderr=True).print(
        f"althan DUIS gateway on http://{host}:{port}/api/v1/service{{D,S,T}} "
        f"(data: {db_url or data_dir.resolve()})"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
