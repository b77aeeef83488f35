"""Messages from the CSPs, by type: one handler each, found in `INBOUND`.

Each runs in the transaction that records the message's ID in the inbox (`Dsp.handle_smwan`),
so a redelivered message changes nothing. GBCS alerts are believed only when their signature
verifies; responses only when their MAC does, and each goes to the handling its SRV registered
(`althan.dsp.routes`) before the device response is sent to the requesting user.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, Final

from althan.dsp import commands, firmware, gbcs_in, records, smi
from althan.dsp.bodies import CommsHubFirmwareTransfer, CspDeliveryStatus, PpmidFirmwareAlert, el
from althan.dsp.context import InboundCtx, ResponseCtx
from althan.dsp.firmware import DeliveryEvent
from althan.dsp.gbcs_out import transaction_id
from althan.model import DeviceStatus
from althan.smwan import (
    CSPFirmwareDeliveryStatus,
    DeliveryOutcome,
    GbcsAlert,
    GbcsResponse,
    HanJoinNotice,
    SmwanMessage,
)

InboundHandler = Callable[[InboundCtx, Any], None]


def csp_delivery_status(ctx: InboundCtx, msg: CSPFirmwareDeliveryStatus) -> None:
    """The CSP delivered a distribution's image to a CH (or could not): N55 per device."""
    ok = msg.outcome is DeliveryOutcome.DELIVERED
    event = DeliveryEvent.CH_DELIVERED if ok else DeliveryEvent.CH_DELIVERY_FAILED
    for dev in msg.devices:
        d = firmware.move_of_request(ctx.conn, dev, msg.distribution_id, event, ctx.now, msg.reason)
        if d is None:
            continue
        body = CspDeliveryStatus(msg.distribution_id, msg.chf, dev, d.firmware_version, ctx.now, ok)
        detail = "delivered" if ok else f"failed: {msg.reason}"
        ctx.effects.alert(d.requester, body, device=dev, detail=detail)


def han_join(ctx: InboundCtx, msg: HanJoinNotice) -> None:
    """A whitelisted device joined its CH's HAN: it is commissioned."""
    row = smi.get_device(ctx.conn, msg.device)
    if (
        row is not None
        and row.status
        in (DeviceStatus.WHITELISTED.value, DeviceStatus.INSTALLED_NOT_COMMISSIONED.value)
        and smi.in_device_log(ctx.conn, msg.chf, msg.device)
    ):
        smi.commission(ctx.conn, msg.device, ctx.now)


def gbcs_alert(ctx: InboundCtx, msg: GbcsAlert) -> None:
    decoded = gbcs_in.decode_alert(msg.payload, ctx.services.gbcs_keys)
    if decoded is None:  # not decodable, or signature not valid: nothing changes
        return
    ALERTS[decoded.kind](ctx, msg, decoded)


def firmware_transfer(ctx: InboundCtx, msg: GbcsAlert, a: gbcs_in.DecodedAlert) -> None:
    """CCS08 from the CH: the image reached the device (0x8F8A) or did not (0x8F89): N56."""
    event = DeliveryEvent.TRANSFERRED if a.success else DeliveryEvent.TRANSFER_FAILED
    reason = "" if a.success else "CH firmware transfer failed"
    d = firmware.move_active(ctx.conn, msg.device, event, ctx.now, reason)
    if d is None:
        return
    body = CommsHubFirmwareTransfer(
        msg.chf,
        a.alert_code,
        a.when or ctx.now,
        str(d.request_id),
        msg.device,
        d.firmware_version,
        a.success,
    )
    ctx.effects.alert(d.requester, body, device=msg.device)


def firmware_activation(ctx: InboundCtx, msg: GbcsAlert, a: gbcs_in.DecodedAlert) -> None:
    """CS09 from the device, signed by it: the SMI takes its new version, N39 to its supplier."""
    row = smi.get_device(ctx.conn, a.device)
    if row is None or a.device != msg.device:
        return
    event = DeliveryEvent.ACTIVATED if a.success else DeliveryEvent.ACTIVATION_FAILED
    reason = "" if a.success else "device could not activate the image"
    d = firmware.move_active(ctx.conn, a.device, event, ctx.now, reason)
    if a.success:
        rid = str(d.request_id) if d is not None else None
        smi.set_firmware_version(
            ctx.conn, row, a.firmware_version, ctx.now, records.Source.N39, rid
        )
    if row.supplier is None:
        return
    body = PpmidFirmwareAlert(
        a.device, a.alert_code, a.when or ctx.now, a.firmware_version, a.success
    )
    ctx.effects.alert(row.supplier, body, device=a.device, detail=a.firmware_version)


ALERTS: Final[Mapping[str, Callable[[InboundCtx, GbcsAlert, gbcs_in.DecodedAlert], None]]] = {
    "CCS08": firmware_transfer,
    "CS09": firmware_activation,
}
"""GBCS alerts the DSP acts on, by use case."""


def gbcs_response(ctx: InboundCtx, msg: GbcsResponse) -> None:
    """A device's response to a command: its SRV's handling, then the device response."""
    cmd = commands.find(ctx.conn, msg.command_msg_id)
    if cmd is None or cmd.done:
        return
    commands.mark_done(ctx.conn, cmd.msg_id, ctx.now)
    srv = ctx.services.srvs[cmd.srv]
    result = gbcs_in.decode_response(
        msg.payload,
        ctx.services.gbcs_keys,
        responders=(cmd.device, cmd.chf),
        counter=transaction_id(cmd.request_id.counter),
    )
    handle = ctx.responses.get(cmd.srv)
    if handle is not None:
        handle(ResponseCtx(ctx.conn, ctx.now, ctx.services, ctx.effects, cmd, msg.payload, result))
    payload = el("GBCSPayload", base64.b64encode(msg.payload).decode())
    ctx.effects.device_response(cmd.request_id, srv, payload)


INBOUND: Final[Mapping[type[SmwanMessage], InboundHandler]] = {
    CSPFirmwareDeliveryStatus: csp_delivery_status,
    HanJoinNotice: han_join,
    GbcsAlert: gbcs_alert,
    GbcsResponse: gbcs_response,
}
"""Every SM WAN message the DSP receives, by type."""
