"""SRV 8.x: inventory (8.2, 8.4), join/unjoin (8.7.2, 8.8.2), HAN device log (8.11)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from althan import gbcs
from althan.dsp import catalogue as C
from althan.dsp import gbcs_out, records, smi
from althan.dsp.bodies import el, inventory_device
from althan.dsp.context import Ctx, Handled, Reject, ResponseCtx, Route
from althan.duis.namespaces import sr_child as child
from althan.duis.namespaces import sr_text as text
from althan.model import EUI64, MAX_TYPE1_DEVICES, DeviceStatus, DeviceType

WHITELIST_OK = {
    DeviceStatus.PENDING.value,
    DeviceStatus.WHITELISTED.value,
    DeviceStatus.INSTALLED_NOT_COMMISSIONED.value,
    DeviceStatus.COMMISSIONED.value,
}


def known(ctx: Ctx, eui: EUI64) -> Any:
    """The SMI row of the device a request names (E5 when the SMI does not know it)."""
    row = smi.get_device(ctx.conn, eui)
    if row is None:
        raise Reject(C.E5, f"{eui} is not in the SMI")
    return row


def users_device(ctx: Ctx, unknown: C.Code) -> tuple[EUI64, Any]:
    """The device the request's DeviceID names, and its SMI row: `unknown` when the SMI does
    not know it, E17 when the user is not responsible for it."""
    eui = EUI64.parse(text(ctx.req.body, "DeviceID") or "")
    row = smi.get_device(ctx.conn, eui)
    if row is None:
        raise Reject(unknown, f"{eui} is not in the SMI")
    if not smi.may_act(row, ctx.user):
        raise Reject(C.E17, f"{ctx.user} is not responsible for {eui}")
    return eui, row


def actionable(ctx: Ctx, row: Any, statuses: frozenset[str] = smi.REACHABLE) -> None:
    """A device the request may act on: the user's (E17), in one of `statuses` behind a CHF
    (E20)."""
    if not smi.may_act(row, ctx.user):
        raise Reject(C.E17, f"{ctx.user} is not responsible for {row.eui}")
    if row.status not in statuses or row.chf is None:
        raise Reject(C.E20, f"{row.eui} is {row.status}")


def srv_8_2(ctx: Ctx) -> Handled:
    """8.2 Read Inventory, by DeviceID (the search by UPRN, MPxN or PropertyFilter is E21)."""
    b = ctx.req.body
    dev_id = text(b, "DeviceID")
    if not dev_id:
        by = etree.QName(b[0]).localname if len(b) else "nothing"
        raise Reject(C.E21, f"8.2 by {by} is not supported by althan (by DeviceID only)")
    found = smi.get_device_and_firmware_status(ctx.conn, EUI64.parse(dev_id))
    if found is None:
        raise Reject(C.E080201, f"no device {dev_id}")
    device, fw_status = found
    if device["firmware_version"]:  # DeviceFirmwareVersionStatus: its CPL entry's status
        device["fw_status"] = fw_status
    return Handled(C.I0, el("DSPInventory", None, inventory_device(device)), 1)


_DETAILS = (
    ("manufacturer", "DeviceManufacturer"),
    ("model", "DeviceModel"),
    ("smets_version", "SMETSCHTSVersion"),
    ("firmware_version", "FirmwareVersion"),
    ("esme_variant", "ESMEVariant"),
    ("variant", "AltHANDeviceVariant"),
)


def srv_8_4(ctx: Ctx) -> Handled:
    """8.4 Update Inventory: device details (incl. the Alt HAN variant) or deletion."""
    b = ctx.req.body
    eui, row = users_device(ctx, C.E080405)
    values: dict[str, object] = {}
    details = child(b, "UpdateDeviceDetails")
    if details is not None:
        variant = text(details, "AltHANDeviceVariant")
        if variant and row.device_type != DeviceType.PPMID.value:
            raise Reject(C.E080406, f"{eui} is a {row.device_type}, not a PPMID")
        values = {col: v for col, name in _DETAILS if (v := text(details, name))}
    elif child(b, "DeleteDevice") is not None:
        if row.status != DeviceStatus.PENDING.value:
            raise Reject(C.E20, f"only a Pending device can be deleted; {eui} is {row.status}")
        values["status"] = DeviceStatus.WITHDRAWN.value
    else:  # UpdateDeviceStatusCH, UpdateDeviceStatusExceptCH, UpdateMPxN
        raise Reject(C.E21, f"8.4 {etree.QName(b[1]).localname} is not supported by althan")
    if values:
        smi.update_device(ctx.conn, eui, values, ctx.now)
    if "firmware_version" in values:
        records.version_changed(
            ctx.conn,
            eui,
            row.firmware_version,
            str(values["firmware_version"]),
            ctx.now,
            records.Source.INVENTORY_UPDATE,
            str(ctx.req.request_id),
        )
    return Handled(C.I0, device_count=1)


def _join_unjoin(ctx: Ctx, refuse: C.Code, unjoin: bool) -> Handled:
    target = ctx.req.target
    row = known(ctx, target)
    other_id = text(ctx.req.body, "OtherDeviceID")
    other_eui = EUI64.parse(other_id) if other_id else target
    other = smi.get_device(ctx.conn, other_eui) if other_id else None
    if smi.is_althan(row) or smi.is_althan(other):
        raise Reject(refuse, "an Alt HAN P2P device cannot be joined or unjoined (SECMP0170)")
    actionable(ctx, row)
    join: gbcs.Payload = (
        gbcs.UnjoinDeviceCommand(other_eui)
        if unjoin
        else gbcs.JoinDeviceCommand(1, other_eui, int(gbcs.DeviceTypeCode.PPMID))
    )
    payload = gbcs_out.command(
        ctx.services.gbcs_keys,
        join,
        target=target,
        user=ctx.user,
        counter=ctx.req.counter,
        when=ctx.now,
        message_code=gbcs.MessageCode.CS04AC if unjoin else gbcs.MessageCode.CS03A2,
    )
    ctx.effects.command(
        ctx.req.request_id,
        ctx.srv,
        device=target,
        chf=row.chf,
        region=smi.region_of(row),
        payload=payload,
        detail=str(other_eui),
    )
    return Handled(C.I99, device_count=1)


def srv_8_7_2(ctx: Ctx) -> Handled:
    """8.7.2 Join Service (non-critical); refused for an Alt HAN P2P device."""
    return _join_unjoin(ctx, C.E080724, unjoin=False)


def srv_8_8_2(ctx: Ctx) -> Handled:
    """8.8.2 Unjoin Service (non-critical); refused for an Alt HAN P2P device."""
    return _join_unjoin(ctx, C.E080823, unjoin=True)


def srv_8_11(ctx: Ctx) -> Handled:
    """8.11 Update HAN Device Log: whitelist a device on the CHF (GBCS CCS01), or remove it
    (CCS02)."""
    chf = smi.get_device(ctx.conn, ctx.req.target)
    if chf is None or chf.device_type != DeviceType.CHF.value:
        raise Reject(C.E5, f"{ctx.req.target} is not a CHF in the SMI")
    if chf.status != DeviceStatus.COMMISSIONED.value:
        raise Reject(C.E20, f"CHF {ctx.req.target} is {chf.status}")
    b = ctx.req.body
    dev_eui, dev = users_device(ctx, C.E5)
    add = (text(b, "RequestType") or "Add") == "Add"
    invoke_id = gbcs.default_invoke_id(gbcs_out.transaction_id(ctx.req.counter))
    log: gbcs.Payload = gbcs.DeviceLogRemoveCommand(invoke_id, dev_eui)
    if add:
        if dev.status not in WHITELIST_OK:
            raise Reject(C.E20, f"{dev_eui} is {dev.status}")
        if (
            DeviceType(dev.device_type).is_type1
            and dev.chf != ctx.req.target
            and smi.type1_count(ctx.conn, ctx.req.target) >= MAX_TYPE1_DEVICES
        ):
            raise Reject(C.E081101, f"CHF {ctx.req.target} holds {MAX_TYPE1_DEVICES} Type 1")
        wl = child(b, "AddDeviceToCHFWhitelist")
        if wl is None:  # optional in the schema, but CCS01 needs the install code it carries
            raise Reject(C.E081102, "RequestType Add without AddDeviceToCHFWhitelist")
        install_code = bytes.fromhex(text(wl, "InstallCode") or "")  # required in the element
        log = gbcs.DeviceLogAddCommand(invoke_id, dev_eui, install_code)
    payload = gbcs_out.command(
        ctx.services.gbcs_keys, log, target=ctx.req.target, user=ctx.user, counter=ctx.req.counter
    )
    ctx.effects.command(
        ctx.req.request_id,
        ctx.srv,
        device=dev_eui,
        chf=ctx.req.target,
        region=smi.region_of(chf),
        payload=payload,
        detail="add" if add else "remove",
    )
    return Handled(C.I99, device_count=1)


def device_log_changed(r: ResponseCtx) -> None:
    """The CHF's response to CCS01 / CCS02: the SMI's copy of its device log follows it."""
    if not r.ok:
        return
    cmd = r.command
    if cmd.detail == "add":
        smi.add_to_device_log(r.conn, cmd.chf, cmd.device, r.now)
    else:
        smi.remove_from_device_log(r.conn, cmd.chf, cmd.device)


ROUTES = (
    Route("8.2", srv_8_2, body="ReadInventory"),
    Route("8.4", srv_8_4, body="UpdateInventory"),
    Route("8.7.2", srv_8_7_2, body="JoinServiceNonCritical"),
    Route("8.8.2", srv_8_8_2, body="UnjoinServiceNonCritical"),
    Route("8.11", srv_8_11, on_response=device_log_changed, body="UpdateHANDeviceLog"),
)
