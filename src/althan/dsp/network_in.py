"""Messages from the CSPs: delivery statuses, GBCS alerts and responses, HAN joins."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from althan.dsp import bodies, gbcs_in
from althan.dsp import catalogue as C
from althan.dsp.smi import get_device
from althan.duis.envelope import RequestId
from althan.duis.srv import srv_matrix
from althan.model import EUI64, DeviceStatus
from althan.smwan import (
    CSPFirmwareDeliveryStatus,
    DeliveryOutcome,
    GbcsAlert,
    GbcsResponse,
    HanJoinNotice,
    SmwanMessage,
)
from althan.store.tables import (
    chf_device_log,
    device_commands,
    devices,
    eui_to_db,
    firmware_deliveries,
)

if TYPE_CHECKING:
    from althan.dsp.service import Dsp


def _delivery(conn: Connection, device: EUI64, request_id: str | None = None) -> Any:
    q = select(firmware_deliveries).where(firmware_deliveries.c.device == device)
    if request_id is not None:
        q = q.where(firmware_deliveries.c.request_id == request_id)
    else:
        q = q.where(firmware_deliveries.c.active == 1)
    return conn.execute(q.order_by(firmware_deliveries.c.id.desc())).first()


def _requester(request_id: str) -> EUI64:
    return RequestId.parse(request_id).originator


def handle(dsp: Dsp, conn: Connection, msg: SmwanMessage, now: datetime) -> None:
    if isinstance(msg, CSPFirmwareDeliveryStatus):
        ok = msg.outcome is DeliveryOutcome.DELIVERED
        for dev in msg.devices:
            d = _delivery(conn, dev, msg.distribution_id)
            if d is None or not d.active:
                continue
            conn.execute(
                update(firmware_deliveries)
                .where(firmware_deliveries.c.id == d.id)
                .values(
                    status="Delivered" if ok else "Failed",
                    active=1 if ok else 0,
                    updated_at=now,
                )
            )
            body = bodies.csp_delivery_status(
                msg.distribution_id, msg.chf, dev, d.firmware_version, now, ok
            )
            dsp.send_alert(
                conn,
                _requester(d.request_id),
                C.N55,
                body,
                now,
                dev,
                "delivered" if ok else f"failed: {msg.reason}",
            )
    elif isinstance(msg, HanJoinNotice):
        row = get_device(conn, msg.device)
        logged = conn.execute(
            select(chf_device_log).where(
                chf_device_log.c.chf == msg.chf, chf_device_log.c.device == msg.device
            )
        ).first()
        if (
            row is not None
            and logged is not None
            and row.status
            in (DeviceStatus.WHITELISTED.value, DeviceStatus.INSTALLED_NOT_COMMISSIONED.value)
        ):
            conn.execute(
                update(devices)
                .where(devices.c.eui == msg.device)
                .values(status=DeviceStatus.COMMISSIONED.value, commissioned_at=now, updated_at=now)
            )
    elif isinstance(msg, GbcsAlert):
        _alert(dsp, conn, msg, now)
    elif isinstance(msg, GbcsResponse):
        _response(dsp, conn, msg, now)


def _alert(dsp: Dsp, conn: Connection, msg: GbcsAlert, now: datetime) -> None:
    decoded = gbcs_in.decode_alert(msg.payload, dsp.gbcs_keys)
    if decoded is None:  # not decodable, or signature not valid: nothing changes
        return
    if decoded.kind == "CCS08":
        d = _delivery(conn, msg.device)
        if d is None:
            return
        ok = decoded.success
        conn.execute(
            update(firmware_deliveries)
            .where(firmware_deliveries.c.id == d.id)
            .values(status="Transferred" if ok else "Failed", active=1 if ok else 0, updated_at=now)
        )
        body = bodies.comms_hub_alert(
            msg.chf,
            decoded.alert_code,
            decoded.when or now,
            d.request_id,
            msg.device,
            d.firmware_version,
            "FileTransferSuccess" if ok else "FileTransferFailure",
        )
        dsp.send_alert(conn, _requester(d.request_id), C.N56, body, now, msg.device)
    elif decoded.kind == "CS09":
        row = get_device(conn, decoded.device)
        if row is None or decoded.device != msg.device:
            return
        version = decoded.firmware_version
        d = _delivery(conn, decoded.device)
        if decoded.success:
            conn.execute(
                update(devices)
                .where(devices.c.eui == decoded.device)
                .values(firmware_version=version, updated_at=now)
            )
        if d is not None:
            conn.execute(
                update(firmware_deliveries)
                .where(firmware_deliveries.c.id == d.id)
                .values(
                    status="Activated" if decoded.success else "Failed", active=0, updated_at=now
                )
            )
        user = row.supplier
        if user is None:
            return
        body = bodies.ppmid_alert(
            decoded.device, decoded.alert_code, decoded.when or now, version, decoded.success
        )
        dsp.send_alert(conn, user, C.N39, body, now, decoded.device, version)


def _response(dsp: Dsp, conn: Connection, msg: GbcsResponse, now: datetime) -> None:
    cmd = conn.execute(
        select(device_commands).where(device_commands.c.msg_id == msg.command_msg_id)
    ).first()
    if cmd is None or cmd.done_at is not None:
        return
    conn.execute(
        update(device_commands).where(device_commands.c.msg_id == cmd.msg_id).values(done_at=now)
    )
    srv = srv_matrix()[cmd.srv]
    result = gbcs_in.decode_response(msg.payload, dsp.gbcs_keys)
    ok = result is not None and result.success
    if cmd.detail == "critical":
        # a response to a critical command is believed only with the device's DS signature
        ok = ok and gbcs_in.signed_by(msg.payload, cmd.device, dsp.gbcs_keys)
        if cmd.srv == "8.1.1" and ok:
            row = get_device(conn, cmd.device)
            if row is not None and row.status != DeviceStatus.COMMISSIONED.value:
                conn.execute(
                    update(devices)
                    .where(devices.c.eui == cmd.device)
                    .values(
                        status=DeviceStatus.COMMISSIONED.value, commissioned_at=now, updated_at=now
                    )
                )
    if cmd.srv == "8.11" and ok:
        if cmd.detail == "add":
            if (
                conn.execute(
                    select(chf_device_log).where(
                        chf_device_log.c.chf == cmd.chf, chf_device_log.c.device == cmd.device
                    )
                ).first()
                is None
            ):
                conn.execute(
                    chf_device_log.insert().values(chf=cmd.chf, device=cmd.device, added_at=now)
                )
            chf_row = get_device(conn, cmd.chf)
            dev = get_device(conn, cmd.device)
            values: dict[str, object] = {
                "chf": cmd.chf,
                "region": chf_row.region,
                "updated_at": now,
            }
            if dev.status == DeviceStatus.PENDING.value:
                values["status"] = DeviceStatus.WHITELISTED.value
            conn.execute(update(devices).where(devices.c.eui == cmd.device).values(**values))
        else:
            conn.execute(
                chf_device_log.delete().where(
                    chf_device_log.c.chf == eui_to_db(cmd.chf),
                    chf_device_log.c.device == eui_to_db(cmd.device),
                )
            )
    if cmd.srv == "11.2" and ok and result is not None and result.firmware_version:
        row = get_device(conn, cmd.device)
        if row is not None and row.firmware_version != result.firmware_version:
            body = bodies.firmware_version_mismatch(
                cmd.device,
                row.device_type,
                row.firmware_version or "00000000",
                result.firmware_version,
            )
            conn.execute(
                update(devices)
                .where(devices.c.eui == cmd.device)
                .values(firmware_version=result.firmware_version, updated_at=now)
            )
            dsp.send_alert(conn, cmd.user_eui, C.N42, body, now, cmd.device)
    payload = bodies.el("GBCSPayload", base64.b64encode(msg.payload).decode())
    target = cmd.chf if cmd.srv == "8.11" else cmd.device
    dsp.send_device_response(conn, cmd.user_eui, cmd.request_id, target, srv, payload, now, "I0")
