"""SRV 12.x: device pre-notification, with the SECMP0170 Alt HAN Device Variant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert

from althan.dsp import catalogue as C
from althan.dsp.smi import get_device, text
from althan.model import EUI64, DeviceStatus, DeviceType
from althan.store.tables import devices

if TYPE_CHECKING:
    from althan.dsp.service import Ctx, Dsp, Handled, Handler


def srv_12_2(dsp: Dsp, ctx: Ctx) -> Handled:
    from althan.dsp.service import Handled

    b = ctx.req.body
    eui = EUI64.parse(text(b, "DeviceID") or "")
    dtype = text(b, "DeviceType") or ""
    variant = text(b, "AltHANDeviceVariant")
    if variant and dtype != DeviceType.PPMID.value:
        return Handled(C.E120204)
    if get_device(ctx.conn, eui) is not None:
        return Handled(C.E120201)
    ctx.conn.execute(
        insert(devices).values(
            eui=eui,
            device_type=dtype,
            status=DeviceStatus.PENDING.value,
            manufacturer=text(b, "DeviceManufacturer") or "",
            model=text(b, "DeviceModel") or "",
            firmware_version=text(b, "FirmwareVersion"),
            smets_version=text(b, "SMETSCHTSVersion"),
            esme_variant=text(b, "ESMEVariant"),
            variant=variant,
            supplier=ctx.user,
            updated_at=ctx.now,
        )
    )
    return Handled(C.I0, device_count=1)


HANDLERS: dict[str, Handler] = {"12.2": srv_12_2}
