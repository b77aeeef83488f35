"""`althan cpl ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="cpl commands", no_args_is_help=True)
