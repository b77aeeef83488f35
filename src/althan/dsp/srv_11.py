"""SRV 11.x for PPMIDs and Alt HAN bridges: 11.4 Update PPMID Firmware, 11.2 Read Firmware Version.

11.4 is set-based: one query for the SMI rows of all (up to 50,000) devices, one for the
in-progress deliveries, one bulk insert of delivery records, one SM WAN distribution per CSP
region carrying the image (stored once, by SHA-256) and its CH target list.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from althan.dsp import catalogue as C
from althan.dsp import cpl, gbcs_out
from althan.dsp.bodies import update_ppmid_firmware_warning
from althan.dsp.smi import base64_binary, get_device, may_act, text
from althan.dsp.srv_8 import send_command
from althan.model import EUI64, DeviceStatus, DeviceType
from althan.smwan import FirmwareDistribution, FirmwareTarget
from althan.store.bulk import bulk_insert, raw, select_where_in
from althan.store.tables import devices, firmware_deliveries, firmware_images
from althan.zigbee.ota import OtaError, OtaImage, parse_ota

if TYPE_CHECKING:
    from althan.dsp.service import Ctx, Dsp, Handled, Handler


def _store_image(dsp: Dsp, conn: Connection, data: bytes, img: OtaImage, ctx: Ctx) -> str:
    """Keep the image (once, by SHA-256) when it goes to at least one device."""
    sha = dsp.images.put(data)
    if (
        conn.execute(
            select(firmware_images.c.sha256).where(firmware_images.c.sha256 == sha)
        ).first()
        is None
    ):
        conn.execute(
            insert(firmware_images).values(
                sha256=sha,
                size=len(data),
                manufacturer_code=img.header.manufacturer_code,
                image_type=img.header.image_type,
                file_version=img.header.file_version,
                form=img.form,
                image_hash=img.image_hash,
                first_seen=ctx.now,
            )
        )
    return sha


def _applicable(
    manufacturer: str, model: str, img: OtaImage, entries: Sequence[cpl.CplEntry]
) -> bool:
    """Requirement 12: an Active CPL entry for exactly this image, for this model and hardware."""
    model_id, hw = cpl.split_model(model)
    h = img.header
    if manufacturer.upper() != f"{h.manufacturer_code:04X}" or model_id != (f"{h.image_type:04X}"):
        return False
    if hw is None:
        return False
    if h.minimum_hardware_version is not None and hw < h.minimum_hardware_version:
        return False
    if h.maximum_hardware_version is not None and hw > h.maximum_hardware_version:
        return False
    return any(
        e.manufacturer == manufacturer.upper()
        and e.model == model_id
        and e.hw_min <= hw <= e.hw_max
        for e in entries
    )


def _stored(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _eui(stored: int) -> EUI64:
    return EUI64(stored + (1 << 64) if stored < 0 else stored)


_TYPES = (DeviceType.PPMID.value, DeviceType.HCALCS.value)
_COMMISSIONED = DeviceStatus.COMMISSIONED.value


def srv_11_4(dsp: Dsp, ctx: Ctx) -> Handled:
    from althan.dsp.service import Handled

    b = ctx.req.body
    data = base64_binary(text(b, "FirmwareImage"))
    if data is None:
        return Handled(C.E110401)
    try:
        img = parse_ota(data)
    except OtaError:
        return Handled(C.E110401)
    version = (text(b, "FirmwareVersion") or "").upper()
    if version != f"{img.header.file_version:08X}":
        return Handled(C.E110401)
    ids_text = text(b, "DeviceIDList") or ""
    # the schema's pattern guarantees hyphenated hex EUIs; stored form is signed 64-bit
    requested = list(
        dict.fromkeys(_stored(int(x.replace("-", ""), 16)) for x in ids_text.split(",") if x)
    )
    if len(requested) > dsp.settings.max_11_4_devices:
        return Handled(C.E110403)

    conn = ctx.conn
    sha = hashlib.sha256(data).hexdigest()
    entries = cpl.active_for_image(conn, sha)
    cols = (
        raw(devices.c.eui).label("eui"),
        devices.c.device_type,
        devices.c.status,
        devices.c.manufacturer,
        devices.c.model,
        raw(devices.c.chf).label("chf"),
        devices.c.region,
        raw(devices.c.supplier).label("supplier"),
        devices.c.gbcs_version,
    )
    rows = {r.eui: r for r in select_where_in(conn, select(*cols), devices.c.eui, requested)}
    busy = {
        r.device
        for r in select_where_in(
            conn,
            select(raw(firmware_deliveries.c.device).label("device")).where(
                firmware_deliveries.c.active == 1
            ),
            firmware_deliveries.c.device,
            requested,
        )
    }
    user = _stored(ctx.user.value)
    applicable = functools.lru_cache(maxsize=None)(
        lambda manufacturer, model: _applicable(manufacturer, model, img, entries)
    )
    lists: dict[str, list[int]] = defaultdict(list)
    go: list[Any] = []
    for dev in requested:
        r = rows.get(dev)
        if r is None or r.device_type not in _TYPES or r.supplier != user:
            lists["InvalidDeviceIDList"].append(dev)
        elif r.status != _COMMISSIONED or r.chf is None:
            lists["NotCommissionedDeviceIDList"].append(dev)
        elif not applicable(r.manufacturer, r.model):
            lists["NotApplicableFirmwareDeviceIDList"].append(dev)
        elif dev in busy:
            lists["OtherRequestInProgressList"].append(dev)
        elif r.gbcs_version is not None and r.gbcs_version < "2.0":
            lists["InvalidGBCSVersionList"].append(dev)
        else:
            go.append(r)

    if go:
        _store_image(dsp, conn, data, img, ctx)
        rid = ctx.req.request_id_text
        bulk_insert(
            conn,
            firmware_deliveries,
            (
                "request_id",
                "device",
                "chf",
                "region",
                "image_sha256",
                "firmware_version",
                "status",
                "active",
                "updated_at",
            ),
            ((rid, r.eui, r.chf, r.region, sha, version, "Distributed", 1, ctx.now) for r in go),
        )
        by_region: dict[str, list[FirmwareTarget]] = defaultdict(list)
        for r in go:
            by_region[r.region].append(FirmwareTarget(_eui(r.chf), _eui(r.eui)))
        dsp.outbox.put_smwan_many(
            conn,
            [
                (
                    region,
                    FirmwareDistribution(
                        msg_id=f"fd:{rid}:{region}",
                        distribution_id=rid,
                        image_sha256=sha,
                        image=data,
                        targets=tuple(targets),
                    ),
                )
                for region, targets in sorted(by_region.items())
            ],
            ctx.now,
        )
    warnings = {k: [_eui(d) for d in v] for k, v in lists.items()}
    if warnings:
        return Handled(C.W110401, update_ppmid_firmware_warning(warnings), len(go))
    return Handled(C.I0, None, len(go))


def srv_11_2(dsp: Dsp, ctx: Ctx) -> Handled:
    """Read the firmware version of a PPMID / Alt HAN bridge: GBCS CS08 via the ACB."""
    from althan.dsp.service import Handled

    row = get_device(ctx.conn, ctx.req.target)
    if row is None:
        return Handled(C.E5)
    if row.device_type not in (DeviceType.PPMID.value, DeviceType.HCALCS.value):
        return Handled(C.E21)
    if not may_act(row, ctx.user):
        return Handled(C.E17)
    if row.status != DeviceStatus.COMMISSIONED.value or row.chf is None:
        return Handled(C.E20)
    payload = gbcs_out.cs08_command(
        dsp.gbcs_keys, device=ctx.req.target, user=ctx.user, counter=ctx.req.counter, when=ctx.now
    )
    send_command(dsp, ctx, ctx.req.target, row.chf, row.region, payload)
    return Handled(C.I99, device_count=1)


HANDLERS: dict[str, Handler] = {"11.4": srv_11_4, "11.2": srv_11_2}
