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

_GROUPS: tuple[tuple[typer.Typer, str, str], ...] = (
    (firmware.app, "firmware", "Inspect and build ZigBee OTA firmware images."),
    (cpl.app, "cpl", "The Central Product List of assured firmware."),
    (gbcs.app, "gbcs", "Decode and check GBCS messages."),
    (duis.app, "duis", "Sign, verify, validate and send DUIS XML."),
    (pc.app, "pc", "Parse & Correlate: check the DCC's responses and pre-commands."),
    (users.app, "users", "DCC users known to the DSP."),
    (devices.app, "devices", "Devices of the SMI, and spare ones."),
    (ssi.app, "ssi", "The Self-Service Interface: its accounts."),
    (ad.app, "ad", "Anomaly detection: thresholds and the quarantine queue."),
    (records.app, "records", "The DCC's firmware records."),
    (campaign.app, "campaign", "A supplier's staged firmware rollouts (11.4) over DUIS."),
    (intake.app, "intake", "Suppliers' upgrade outcomes, for AltHANCo."),
)
"""The command groups: (sub-app, name, one-line help), in the order `althan --help` lists them."""
for group, name, help_text in _GROUPS:
    app.add_typer(group, name=name, help=help_text)


def main() -> None:
    app()
