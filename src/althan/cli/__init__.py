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
app.add_typer(firmware.app, name="firmware", help="Inspect and build ZigBee OTA firmware images.")
app.add_typer(cpl.app, name="cpl", help="The Central Product List of assured firmware.")
app.add_typer(gbcs.app, name="gbcs", help="Decode and check GBCS messages.")
app.add_typer(duis.app, name="duis", help="Sign, verify, validate and send DUIS XML.")
app.add_typer(
    pc.app, name="pc", help="Parse & Correlate: check the DCC's responses and pre-commands."
)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("simulate")(simulate)
app.command("report")(report)
app.add_typer(users.app, name="users", help="DCC users known to the DSP.")
app.add_typer(devices.app, name="devices", help="Devices of the SMI, and spare ones.")
app.add_typer(ssi.app, name="ssi", help="The Self-Service Interface: its accounts.")
app.add_typer(ad.app, name="ad", help="Anomaly detection: thresholds and the quarantine queue.")
app.add_typer(records.app, name="records", help="The DCC's firmware records.")
app.add_typer(
    campaign.app, name="campaign", help="A supplier's staged firmware rollouts (11.4) over DUIS."
)
app.add_typer(intake.app, name="intake", help="Suppliers' upgrade outcomes, for AltHANCo.")


def main() -> None:
    app()
