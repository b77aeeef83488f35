"""SRV 12.x: device pre-notification, with the SECMP0170 Alt HAN Device Variant."""

from __future__ import annotations

from althan.dsp import catalogue as C
from althan.dsp import smi
from althan.dsp.context import Ctx, Handled, Reject, Route
from althan.duis.namespaces import sr_text as text
from althan.model import EUI64, DeviceStatus, DeviceType


def srv_12_2(ctx: Ctx) -> Handled:
    """12.2 Device Pre-notification: a Pending SMI record, the requester responsible."""
    b = ctx.req.body
    eui = EUI64.parse(text(b, "DeviceID") or "")
    dtype = text(b, "DeviceType") or ""
    variant = text(b, "AltHANDeviceVariant")
    if variant and dtype != DeviceType.PPMID.value:
        raise Reject(C.E120204, f"AltHANDeviceVariant {variant} given for a {dtype}")
    added = smi.prenotify(
        ctx.conn,
        {
            "eui": eui,
            "device_type": dtype,
            "status": DeviceStatus.PENDING.value,
            "manufacturer": text(b, "DeviceManufacturer") or "",
            "model": text(b, "DeviceModel") or "",
            "firmware_version": text(b, "FirmwareVersion"),
            "smets_version": text(b, "SMETSCHTSVersion"),
            "esme_variant": text(b, "ESMEVariant"),
            "variant": variant,
            "supplier": ctx.user,
            "updated_at": ctx.now,
        },
        ctx.now,
        str(ctx.req.request_id),
    )
    if not added:
        raise Reject(C.E120201, f"{eui} is already in the SMI")
    return Handled(C.I0, device_count=1)


ROUTES = (Route("12.2", srv_12_2, body="DevicePrenotification"),)
