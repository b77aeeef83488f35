"""What is deployed: Alt HAN firmware by variant, region and version, from the SMI.

Business requirement 4 (the DCC reports deployed versions to AltHANCo) and 5 (records of
deployments and current versions). One GROUP BY over the SMI, one over the delivery records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, literal_column, select

from althan.store.tables import cpl_entries, devices, firmware_deliveries


@dataclass(frozen=True)
class DeployedReport:
    versions: list[dict[str, Any]]  # variant, model, region, firmware_version, cpl_status, devices
    by_region_variant: dict[str, dict[str, int]]  # devices per region and variant
    deliveries: dict[str, int]  # firmware delivery records by status
    devices: int

    def summary(self) -> dict[str, Any]:
        return {
            "alt_han_devices": self.devices,
            "deliveries": self.deliveries,
            "versions": len({v["firmware_version"] for v in self.versions}),
        }


def deployed(conn: Connection) -> DeployedReport:
    # the model identifier, one expression with its bounds inline: PostgreSQL matches the
    # GROUP BY to the SELECT only when both say the very same thing
    model_id = func.substr(devices.c.model, literal_column("1"), literal_column("4"))
    q = (
        select(
            devices.c.variant,
            devices.c.region,
            devices.c.firmware_version,
            devices.c.manufacturer,
            model_id.label("model_id"),
            func.count().label("n"),
        )
        .where(devices.c.variant.is_not(None))
        .group_by(
            devices.c.variant,
            devices.c.region,
            devices.c.firmware_version,
            devices.c.manufacturer,
            model_id,
        )
    )
    cpl = {
        (r.manufacturer, r.model, r.firmware_version): r.status
        for r in conn.execute(
            select(
                cpl_entries.c.manufacturer,
                cpl_entries.c.model,
                cpl_entries.c.firmware_version,
                cpl_entries.c.status,
            )
        )
    }
    merged: dict[tuple[str, str, str, str, str], int] = {}
    table: dict[str, dict[str, int]] = {}
    total = 0
    for r in conn.execute(q):
        region = r.region or "Unknown"
        version = r.firmware_version or ""
        model = str(r.model_id).upper()
        status = cpl.get((r.manufacturer.upper(), model, version), "not in CPL")
        key = (r.variant, model, region, version, status)
        merged[key] = merged.get(key, 0) + int(r.n)
        row = table.setdefault(region, {})
        row[r.variant] = row.get(r.variant, 0) + int(r.n)
        total += int(r.n)
    deliveries = {
        str(r.status): int(r.n)
        for r in conn.execute(
            select(firmware_deliveries.c.status, func.count().label("n")).group_by(
                firmware_deliveries.c.status
            )
        )
    }
    versions = [
        {
            "variant": k[0],
            "model": k[1],
            "region": k[2],
            "firmware_version": k[3],
            "cpl_status": k[4],
            "devices": n,
        }
        for k, n in sorted(merged.items())
    ]
    return DeployedReport(versions, dict(sorted(table.items())), deliveries, total)
