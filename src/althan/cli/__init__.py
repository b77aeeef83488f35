"""The `althan` command."""

from __future__ import annotations

import typer

from althan.cli import (
    ad,
    campaign,
    cpl,
    devices,
    duis,
    firmware,
    gbcs,
    intake,
    pc,
    records,
    ssi,
    users,
)
from althan.cli.demo import demo
from althan.cli.report import report
from althan.cli.serve import serve
from althan.cli.simulate import simulate

app = typer.Typer(
    help="althan: DCC firmware updates for Alt HAN P2P devices (SECMP0170), simulated network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("simulate")(simulate)
app.command("report")(report)

# the command groups, in the order `althan --help` lists them (each names and describes itself)
for group in (firmware, cpl, gbcs, duis, pc, users, devices, ssi, ad, records, campaign, intake):
    app.add_typer(group.app)


def main() -> None:
    app()
