"""SRV 8.x: inventory (8.2, 8.4), join/unjoin (8.7.2, 8.8.2), HAN device log (8.11)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from sqlalchemy import insert, update

from althan import gbcs
from althan.dsp import catalogue as C
from althan.dsp import gbcs_out
from althan.dsp.bodies import el, inventory_device
from althan.dsp.smi import child, get_device, is_althan, may_act, text, type1_count
from althan.model import EUI64, DeviceStatus, DeviceType
from althan.smwan import GbcsCommand
from althan.store.tables import device_commands, devices

if TYPE_CHECKING:
    from althan.dsp.service import Ctx, Dsp, Handled, Handler

_NS = UUID("5b1f2a9e-9d0e-4a55-9a52-6b1d7c1f0a11")

WHITELIST_OK = {
    DeviceStatus.PENDING.value,
    DeviceStatus.WHITELISTED.value,
    DeviceStatus.INSTALLED_NOT_COMMISSIONED.value,
    DeviceStatus.COMMISSIONED.value,
}


def command_id(request_id: str, device: EUI64) -> str:
    """A stable SM WAN message ID for the command a request sends to a device."""
    return f"cmd-{uuid5(_NS, f'{request_id}/{device}')}"


def send_command(
    dsp: Dsp, ctx: Ctx, device: EUI64, chf: EUI64, region: str, payload: bytes, detail: str = ""
) -> None:
    msg_id = command_id(ctx.req.request_id_text, device)
    ctx.conn.execute(
        insert(device_commands).values(
            msg_id=msg_id,
            request_id=ctx.req.request_id_text,
            user_eui=ctx.user,
            srv=ctx.srv.variant,
            device=device,
            chf=chf,
            detail=detail,
            created_at=ctx.now,
        )
    )
    dsp.outbox.put_smwan(ctx.conn, region, GbcsCommand(msg_id, chf, device, payload), ctx.now)


def srv_8_2(dsp: Dsp, ctx: Ctx) -> Handled:
    from althan.dsp.service import Handled

    dev_id = text(ctx.req.body, "DeviceID")
    row = get_device(ctx.conn, EUI64.parse(dev_id)) if dev_id else None
    if row is None:
        return Handled(C.E080201)
    inv = el("DSPInventory", None, inventory_device(row._asdict()))
    return Handled(C.I0, inv, 1)


def srv_8_4(dsp: Dsp, ctx: Ctx) -> Handled:
    from althan.dsp.service import Handled

    b = ctx.req.body
    eui = EUI64.parse(text(b, "DeviceID") or "")
    row = get_device(ctx.conn, eui)
    if row is None:
        return Handled(C.E080405)
    if not may_act(row, ctx.user):
        return Handled(C.E17)
    values: dict[str, object] = {}
    details = child(b, "UpdateDeviceDetails")
    if details is not None:
        variant = text(details, "AltHANDeviceVariant")
        if variant and row.device_type != DeviceType.PPMID.value:
            return Handled(C.E080406)
        for col, name in (
            ("manufacturer", "DeviceManufacturer"),
            ("model", "DeviceModel"),
            ("smets_version", "SMETSCHTSVersion"),
            ("esme_variant", "ESMEVariant"),
        ):
            v = text(details, name)
            if v:
                values[col] = v
        if variant:
            values["variant"] = variant
    elif child(b, "DeleteDevice") is not None:
        if row.status != DeviceStatus.PENDING.value:
            return Handled(C.E20)
        values["status"] = DeviceStatus.WITHDRAWN.value
    if values:
        values["updated_at"] = ctx.now
        ctx.conn.execute(update(devices).where(devices.c.eui == eui).values(**values))
    return Handled(C.I0, device_count=1)


def _join_unjoin(dsp: Dsp, ctx: Ctx, refuse: C.Code, body_name: str, unjoin: bool) -> Handled:
    from althan.dsp.service import Handled

    target = get_device(ctx.conn, ctx.req.target)
    if target is None:
        return Handled(C.E5)
    other_id = text(ctx.req.body, "OtherDeviceID")
    other = get_device(ctx.conn, EUI64.parse(other_id)) if other_id else None
    if is_althan(target) or is_althan(other):
        return Handled(refuse)
    if not may_act(target, ctx.user):
        return Handled(C.E17)
    if target.status != DeviceStatus.COMMISSIONED.value or target.chf is None:
        return Handled(C.E20)
    other_eui = EUI64.parse(other_id) if other_id else ctx.req.target
    join: gbcs.Payload = (
        gbcs.UnjoinDeviceCommand(other_eui)
        if unjoin
        else gbcs.JoinDeviceCommand(1, other_eui, int(gbcs.DeviceTypeCode.PPMID))
    )
    payload = gbcs_out.command(
        dsp.gbcs_keys,
        join,
        target=ctx.req.target,
        user=ctx.user,
        counter=ctx.req.counter,
        when=ctx.now,
        message_code=gbcs.MessageCode.CS04AC if unjoin else gbcs.MessageCode.CS03A2,
    )
    send_command(dsp, ctx, ctx.req.target, target.chf, target.region, payload, str(other_eui))
    return Handled(C.I99, device_count=1)


def srv_8_7_2(dsp: Dsp, ctx: Ctx) -> Handled:
    return _join_unjoin(dsp, ctx, C.E080724, "JoinServiceNonCritical", unjoin=False)


def srv_8_8_2(dsp: Dsp, ctx: Ctx) -> Handled:
    return _join_unjoin(dsp, ctx, C.E080823, "UnjoinServiceNonCritical", unjoin=True)


def srv_8_11(dsp: Dsp, ctx: Ctx) -> Handled:
    """Update HAN Device Log: whitelist a device on the CHF (GBCS CCS01), or remove it (CCS02)."""
    from althan.dsp.service import Handled

    chf = get_device(ctx.conn, ctx.req.target)
    if chf is None or chf.device_type != DeviceType.CHF.value:
        return Handled(C.E5)
    if chf.status != DeviceStatus.COMMISSIONED.value:
        return Handled(C.E20)
    b = ctx.req.body
    dev_eui = EUI64.parse(text(b, "DeviceID") or "")
    dev = get_device(ctx.conn, dev_eui)
    if dev is None:
        return Handled(C.E5)
    if not may_act(dev, ctx.user):
        return Handled(C.E17)
    add = (text(b, "RequestType") or "Add") == "Add"
    invoke_id = gbcs.default_invoke_id(gbcs_out.transaction_id(ctx.req.counter))
    log: gbcs.Payload = gbcs.DeviceLogRemoveCommand(invoke_id, dev_eui)
    if add:
        if dev.status not in WHITELIST_OK:
            return Handled(C.E20)
        if (
            DeviceType(dev.device_type).is_type1
            and dev.chf != ctx.req.target
            and (type1_count(ctx.conn, ctx.req.target) >= 6)
        ):
            return Handled(C.E081101)
        wl = child(b, "AddDeviceToCHFWhitelist")
        install_code = bytes.fromhex(text(wl, "InstallCode") or "") if wl is not None else b""
        log = gbcs.DeviceLogAddCommand(invoke_id, dev_eui, install_code or bytes(16))
    payload = gbcs_out.command(
        dsp.gbcs_keys, log, target=ctx.req.target, user=ctx.user, counter=ctx.req.counter
    )
    send_command(dsp, ctx, dev_eui, ctx.req.target, chf.region, payload, "add" if add else "remove")
    return Handled(C.I99, device_count=1)


HANDLERS: dict[str, Handler] = {
    "8.2": srv_8_2,
    "8.4": srv_8_4,
    "8.7.2": srv_8_7_2,
    "8.8.2": srv_8_8_2,
    "8.11": srv_8_11,
}
