"""`althan ssi users add|list|remove`: accounts of the Self-Service Interface.

Exit codes: 0 done; 1 refused (login taken, no such login, the EUI is no DUIS user);
2 bad input (role, EUI, weak password, no password on stdin). Errors are one line on stderr
starting ``error:``. The password is read from standard input (``--password-stdin``), never
from the command line.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from althan.cli import options
from althan.cli.options import DEFAULT_DATA_DIR, DataDir, DbUrl, fail

app = typer.Typer(
    name="ssi", help="The Self-Service Interface: its accounts.", no_args_is_help=True
)
users_app = typer.Typer(help="SSI accounts: add, list, remove.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def add(
    login: Annotated[str, typer.Option("--login", help="The sign-in name.")],
    role: Annotated[str, typer.Option("--role", help="supplier, althanco or dcc.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    eui: Annotated[
        str | None,
        typer.Option(
            "--eui",
            help="The DUIS user the account acts for: required for a supplier (it sees that "
            "user's devices); AltHANCo defaults to the DSP's AltHANCo user.",
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """Add an SSI account (its password from standard input)."""
    from datetime import UTC, datetime

    from althan.cli.options import open_assembly
    from althan.dsp import users
    from althan.model import ALTHANCO_DEFAULT_EUI
    from althan.ssi import accounts

    try:
        r = accounts.Role(role.strip().lower())
    except ValueError:
        fail(f"--role {role!r}: one of {', '.join(x.value for x in accounts.Role)}")
    user = None
    if eui is not None:
        user = options.parse_eui(eui, "--eui")
    elif r is accounts.Role.ALTHANCO:
        user = ALTHANCO_DEFAULT_EUI
    if not password_stdin:
        fail("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("no password on standard input")
    engine = open_assembly(data_dir, db_url, create=True).dsp.engine
    try:
        with engine.begin() as conn:
            if user is not None:
                record = users.get(conn, user)
                if record is None:
                    fail(f"--eui {user} is not a DUIS user of this DSP (althan users add)", 1)
                if r is accounts.Role.ALTHANCO and not record.althanco:
                    fail(f"--eui {user} is not the DSP's AltHANCo user", 1)
            acc = accounts.add(conn, login, r, user, password, datetime.now(UTC))
    except accounts.AccountError as exc:
        code = 1 if "taken" in str(exc) else 2
        fail(str(exc), code)
    finally:
        engine.dispose()
    suffix = f" for {acc.user}" if acc.user else ""
    print(f"SSI account {acc.login} ({acc.role.value}){suffix} added")


@users_app.command("list")
def list_(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """The SSI accounts: login, role, DUIS user, created."""
    from althan.ssi import accounts

    with options.store_connection(data_dir, db_url) as conn:
        rows = accounts.all_accounts(conn)
    if as_json:
        out = [
            {
                "login": a.login,
                "role": a.role.value,
                "eui": str(a.user) if a.user else None,
                "created_at": a.created_at.isoformat(),
            }
            for a in rows
        ]
        options.print_json(out, sort_keys=False)
        return
    options.print_table(
        "SSI accounts",
        ("login", "role", "DUIS user", "created"),
        (
            (a.login, a.role.value, str(a.user) if a.user else "-", a.created_at.isoformat())
            for a in rows
        ),
        width=160,
    )


@users_app.command("remove")
def remove(
    login: Annotated[str, typer.Option("--login", help="The account to remove.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    db_url: DbUrl = None,
) -> None:
    """Remove an SSI account; its sessions end at their next request."""
    from althan.ssi import accounts

    with options.store_connection(data_dir, db_url, write=True) as conn:
        gone = accounts.remove(conn, login)
    if not gone:
        fail(f"no SSI account {login!r}", 1)
    print(f"SSI account {login} removed")
