"""The DCC's deployed-versions report to AltHANCo (business requirement 4), edition by edition.

An edition is the deployed Alt HAN firmware report (`althan.reports.deployed`: devices by
variant, CSP region, version and CPL status, and the firmware deliveries by outcome) at one
moment. Every edition is kept in the store for ever, twice: its content as canonical JSON, and
the document that was delivered — the same content as XML (namespace `NS`), signed by the DSP
with its DUIS key (enveloped XMLDSig, the DCC Boxed profile: AltHANCo verifies it with the DSP's
certificate, as it verifies DUIS responses). DUIS has no message for a report, so it is not a
DCC alert.

Delivery: to every AltHANCo user (`users.is_althanco`), kept for its SSI inbox (the store) and
POSTed (``application/xml``) to its registered endpoint, if it has one, through the DSP's
outbox — in the transaction that keeps the edition, retried until accepted.
`althan report --edition N` reproduces edition N exactly (``--xml``: the delivered bytes).

Schedule: `publish_due(dsp, now)` publishes at most one edition per slot of
`DspSettings.report_period` (slots are aligned to the UTC epoch: by default one a day, the
first at the first call, then at each midnight of the DSP's clock). Safe to call often and from
several processes: a slot's edition is unique in the store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from althan.dsp.service import Dsp
from althan.model import EUI64
from althan.reports.deployed import deployed
from althan.store.tables import report_editions, users

NS = "urn:althan:althanco:deployed-firmware-report:1"
_N = f"{{{NS}}}"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Edition:
    edition: int
    generated_at: datetime
    slot: int | None  # its schedule slot; None: published on demand
    content: str  # canonical JSON
    document: bytes  # the signed XML delivered
    sha256: str
    delivered_to: tuple[EUI64, ...] = ()

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.content)
        return value

    def summary(self) -> dict[str, Any]:
        d = self.data
        return {
            "edition": self.edition,
            "generated_at": d["generated_at"],
            "scheduled": self.slot is not None,
            "alt_han_devices": d["alt_han_devices"],
            "sha256": self.sha256,
        }


def canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def content(conn: Connection, edition: int, now: datetime, issuer: EUI64) -> dict[str, Any]:
    """What edition `edition` says, read from the store at `now`."""
    rep = deployed(conn)
    return {
        "edition": edition,
        "generated_at": _iso(now),
        "issuer": str(issuer),
        "alt_han_devices": rep.devices,
        "firmware_versions": len({v["firmware_version"] for v in rep.versions}),
        "by_version": rep.versions,
        "by_region_variant": rep.by_region_variant,
        "deliveries": dict(sorted(rep.deliveries.items())),
    }


def document(data: dict[str, Any]) -> etree._Element:
    """The edition as the XML document AltHANCo receives (before its signature)."""
    root = etree.Element(
        f"{_N}DeployedFirmwareReport",
        nsmap={"dfr": NS},
        edition=str(data["edition"]),
        generatedAt=data["generated_at"],
        issuer=data["issuer"],
    )
    etree.SubElement(
        root,
        f"{_N}Summary",
        altHanDevices=str(data["alt_han_devices"]),
        firmwareVersions=str(data["firmware_versions"]),
    )
    versions = etree.SubElement(root, f"{_N}Versions")
    for v in data["by_version"]:
        etree.SubElement(
            versions,
            f"{_N}Version",
            variant=v["variant"],
            model=v["model"],
            region=v["region"],
            firmwareVersion=v["firmware_version"],
            cplStatus=v["cpl_status"],
            devices=str(v["devices"]),
        )
    table = etree.SubElement(root, f"{_N}ByRegionVariant")
    for region, by_variant in data["by_region_variant"].items():
        for variant, n in sorted(by_variant.items()):
            etree.SubElement(table, f"{_N}Count", region=region, variant=variant, devices=str(n))
    deliveries = etree.SubElement(root, f"{_N}Deliveries")
    for status, n in data["deliveries"].items():
        etree.SubElement(deliveries, f"{_N}Status", status=status, count=str(n))
    return root


def read_document(root: etree._Element) -> dict[str, Any]:
    """The content of a delivered edition, read back from its XML (what AltHANCo's side does
    once it has verified the signature): equal to the edition's JSON content."""
    summary = root.find(f"{_N}Summary")
    if root.tag != f"{_N}DeployedFirmwareReport" or summary is None:
        raise ValueError(f"not a DeployedFirmwareReport: {root.tag}")
    by_region_variant: dict[str, dict[str, int]] = {}
    for c in root.iterfind(f"{_N}ByRegionVariant/{_N}Count"):
        by_region_variant.setdefault(c.get("region", ""), {})[c.get("variant", "")] = int(
            c.get("devices", "0")
        )
    return {
        "edition": int(root.get("edition", "0")),
        "generated_at": root.get("generatedAt"),
        "issuer": root.get("issuer"),
        "alt_han_devices": int(summary.get("altHanDevices", "0")),
        "firmware_versions": int(summary.get("firmwareVersions", "0")),
        "by_version": [
            {
                "variant": v.get("variant"),
                "model": v.get("model"),
                "region": v.get("region"),
                "firmware_version": v.get("firmwareVersion"),
                "cpl_status": v.get("cplStatus"),
                "devices": int(v.get("devices", "0")),
            }
            for v in root.iterfind(f"{_N}Versions/{_N}Version")
        ],
        "by_region_variant": by_region_variant,
        "deliveries": {
            s.get("status", ""): int(s.get("count", "0"))
            for s in root.iterfind(f"{_N}Deliveries/{_N}Status")
        },
    }


def _althanco_endpoints(conn: Connection) -> list[EUI64]:
    q = (
        select(users.c.eui)
        .where(users.c.is_althanco == 1, users.c.endpoint.is_not(None))
        .order_by(users.c.eui)
    )
    return list(conn.execute(q).scalars())


def publish(dsp: Dsp, now: datetime, *, slot: int | None = None) -> Edition:
    """Produce the edition of `now`, keep it, and deliver it to AltHANCo, in one transaction
    (IntegrityError: `slot` already has its edition)."""
    issuer = dsp.settings.dcc_eui
    with dsp.engine.begin() as conn:
        number = conn.execute(
            insert(report_editions)
            .values(generated_at=now, slot=slot, content="", document=b"", sha256="")
            .returning(report_editions.c.edition)
        ).scalar_one()
        data = content(conn, number, now, issuer)
        doc = dsp.duis.sign_document(document(data))
        sha = hashlib.sha256(doc).hexdigest()
        conn.execute(
            update(report_editions)
            .where(report_editions.c.edition == number)
            .values(content=canonical(data), document=doc, sha256=sha)
        )
        recipients = tuple(_althanco_endpoints(conn))
        for user in recipients:
            dsp.outbox.put_duis(conn, user, doc, now)
    return Edition(number, now, slot, canonical(data), doc, sha, recipients)


def slot_of(now: datetime, period: timedelta) -> int:
    return int(now.timestamp() // period.total_seconds())


def next_due(dsp: Dsp, now: datetime) -> datetime:
    """When `publish_due` next publishes: `now` if this slot has no edition yet, else the start
    of the next slot."""
    period = dsp.settings.report_period
    slot = slot_of(now, period)
    with dsp.engine.connect() as conn:
        q = select(report_editions.c.edition).where(report_editions.c.slot == slot)
        if conn.execute(q).first() is None:
            return now
    return datetime.fromtimestamp((slot + 1) * period.total_seconds(), UTC)


def publish_due(dsp: Dsp, now: datetime) -> Edition | None:
    """The scheduled edition of `now`'s slot, if it has none yet (else None)."""
    slot = slot_of(now, dsp.settings.report_period)
    with dsp.engine.connect() as conn:
        q = select(report_editions.c.edition).where(report_editions.c.slot == slot)
        if conn.execute(q).first() is not None:
            return None
    try:
        return publish(dsp, now, slot=slot)
    except IntegrityError:  # another process published this slot meanwhile
        return None


def _edition(r: Any) -> Edition:
    return Edition(r.edition, r.generated_at, r.slot, r.content, bytes(r.document), r.sha256)


def get(conn: Connection, number: int) -> Edition | None:
    r = conn.execute(select(report_editions).where(report_editions.c.edition == number)).first()
    return None if r is None else _edition(r)


def all_editions(conn: Connection) -> list[Edition]:
    """Every edition, oldest first (AltHANCo's inbox)."""
    q = select(report_editions).order_by(report_editions.c.edition)
    return [_edition(r) for r in conn.execute(q)]
