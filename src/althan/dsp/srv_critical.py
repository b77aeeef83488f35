"""Critical Service Requests: 6.15.1 (CS02b), 6.15.2 (CS02d), 8.1.1 (ECS70), DUIS Transform path.

* CommandVariant 4 (``/serviceT``): the DSP checks the request, transforms it into the GBCS
  *pre-command* (user as business originator, the RequestID counter as transaction ID, no
  signature field) and answers synchronously I0 with ``sr:PreCommand``. The pre-command's
  SHA-256 is recorded (a ``device_commands`` row ``pre-…``) so the signed one can be matched.
* CommandVariant 5 / 7 (``/serviceS``) or 6 (``/serviceD``) with ``sr:SignedPreCommand`` and the
  same RequestID: the DSP decodes the GBCS, checks that it is exactly the pre-command it issued
  for that RequestID (E30 otherwise), that it carries a GBCS signature valid for one of the
  user's SMKI DS certificates (E31 otherwise) and that it was not used before (E12). The ACB
  then MACs it (its KA key with the device's KA key): CV 5/7 send it to the device (I99, the
  device's signed response follows as a device response), CV 6 returns it for local delivery
  (I0 with ``sr:LocalCommand``). A refused signed pre-command changes nothing and sends nothing.

6.15.1 (``UpdateSecurityCredentialsKRP``) becomes CS02b in the "X by X" modes (message code
0x0102 Supplier by Supplier, 0x0103 Network Operator by Network Operator): the user may name only
its own role (E3 otherwise) and only certificates whose subject unique ID is its own EUI (E3);
the RequestID counter is the authorising seq number; an ExecutionDateTime of 3000-12-31 (DUIS
cancellation) becomes the GBCS 9999-12-31T23:59:59Z. LoadController (CS02g) is E21.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import uuid5

from cryptography import x509
from lxml import etree

from althan import gbcs
from althan.dsp import catalogue as C
from althan.dsp import commands, smi
from althan.dsp.bodies import el
from althan.dsp.context import Ctx, Handled, Reject, ResponseCtx, Route
from althan.dsp.gbcs_in import signed_by
from althan.dsp.gbcs_out import transaction_id
from althan.dsp.srv_8 import actionable, known
from althan.duis.envelope import RequestId
from althan.duis.namespaces import SR, base64_binary
from althan.duis.namespaces import sr_text as text
from althan.duis.srv import SIGNED_PRE_COMMAND_CVS
from althan.model import EUI64, DeviceStatus, DeviceType, UserRole

__all__ = [
    "GBCS_VERSION",
    "ROUTES",
    "precommand_id",
    "signed_precommand",
    "transform",
]

GBCS_VERSION = "4.0"
"""The GBCS version named in sr:PreCommand/GBCSVersion."""

_NS = uuid.UUID("0c6b7a0e-3f1d-4b8e-9a54-2b77e1c0d6a5")
_PRE = "pre:"


def precommand_id(request_id: RequestId) -> str:
    """The device_commands msg_id that records the pre-command issued for a RequestID."""
    return f"pre-{uuid5(_NS, str(request_id))}"


# ------------------------------------------------------------------ transform (CV 4)


def _body(ctx: Ctx, name: str) -> etree._Element:
    b = ctx.req.body
    if etree.QName(b).localname != name:
        raise Reject(C.E19, f"{ctx.srv.variant} carries sr:{name}")
    return b


def _cs02d_payload(ctx: Ctx, row: Any) -> tuple[int, gbcs.Payload]:
    """6.15.2 UpdateSecurityCredentialsDevice -> CS02d."""
    cert = base64_binary(text(_body(ctx, "UpdateSecurityCredentialsDevice"), "DeviceCertificate"))
    if cert is None or not _is_certificate(cert):
        raise Reject(C.E19, "DeviceCertificate is not a certificate")
    return gbcs.MessageCode.CS02D, gbcs.UpdateDeviceCertificateCommand(cert)


def _ecs70_payload(ctx: Ctx, row: Any) -> tuple[int, gbcs.Payload]:
    """8.1.1 CommissionDeviceSynchroniseClock -> ECS70 (ESME only)."""
    b = _body(ctx, "CommissionDeviceSynchroniseClock")
    if row.device_type != DeviceType.ESME.value:
        raise Reject(C.E20, "8.1.1 is built for ESMEs only (ECS70; GCS28 is not)")
    current = _datetime(text(b, "CurrentDateTime"))
    tolerance = int(text(b, "TolerancePeriod") or "0")
    if current is None:
        raise Reject(C.E19, "CurrentDateTime is not a date-time")
    return gbcs.MessageCode.ECS70, gbcs.ecs70_set_clock(
        current, tolerance, transaction_id(ctx.req.counter)
    )


_ROLE_USERS: dict[str, frozenset[UserRole]] = {
    "Supplier": frozenset({UserRole.IS, UserRole.ES, UserRole.GS}),
    "NetworkOperator": frozenset({UserRole.ED, UserRole.GT}),
}
CANCELLATION_DUIS = datetime(3000, 12, 31, tzinfo=UTC)
"""DUIS 6.15.1 ExecutionDateTime that cancels a pending future-dated update..."""
CANCELLATION_GBCS = gbcs.CANCELLATION_TIME
"""...and the GBCS execution date-time that says so (as the RTDS 6.15.1 cancellation pair)."""
_X500_UNIQUE_IDENTIFIER = "2.5.4.45"


def _cs02b_payload(ctx: Ctx, row: Any) -> tuple[int, gbcs.Payload]:
    """6.15.1 UpdateSecurityCredentialsKRP -> CS02b (Supplier / Network Operator by itself)."""
    b = _body(ctx, "UpdateSecurityCredentialsKRP")
    role_name = text(b, "RemotePartyRole") or ""
    if role_name == "LoadController":
        raise Reject(C.E21, "LoadController credentials (CS02g) are not supported by althan")
    if role_name not in _ROLE_USERS or not ctx.roles & _ROLE_USERS[role_name]:
        raise Reject(C.E3, f"a user replaces only the credentials of its own role, not {role_name}")
    certs: dict[str, bytes] = {}
    group = b.find(f".//{SR}SupplierOrNetworkOperatorCertificates")
    for tag in (
        "DigitalSigningCertificate",
        "KeyAgreementCertificate",
        "KeyAgreementTopUpCertificate",
    ):
        if group is None or group.find(f"{SR}{tag}") is None:
            continue
        der = base64_binary(text(group, tag))
        subject = _subject_eui(der) if der is not None else None
        if der is None or subject is None:
            raise Reject(C.E19, f"{tag} is not a ZAZ1-profile certificate")
        if subject != ctx.user:
            raise Reject(C.E3, f"{tag} is {subject}'s, not the requester's own")
        certs[tag] = der
    path = [
        base64_binary(e.text.strip() if e.text else None)
        for e in b.iterfind(f"{SR}CertificationPathCertificates/{SR}Certificate")
    ]
    if not certs or not path or any(c is None or not _is_certificate(c) for c in path):
        raise Reject(C.E19, "no certificates, or a certification path that is not certificates")
    when = _datetime(text(b, "ExecutionDateTime")) if text(b, "ExecutionDateTime") else None
    if text(b, "ExecutionDateTime") and when is None:
        raise Reject(C.E19, "ExecutionDateTime is not a date-time")
    if when is not None and when == CANCELLATION_DUIS:
        when = CANCELLATION_GBCS
    try:
        floor = _opt_int(text(b, "RemotePartyFloorSeqNumber"))
        top_up = _opt_int(text(b, "RemotePartyPrepaymentTopUpFloorSeqNumber"))
        update = gbcs.cs02b_update_credentials(
            role=gbcs.REMOTE_PARTY_ROLES[role_name],
            seq_number=transaction_id(ctx.req.counter),
            certification_path=[c for c in path if c is not None],
            ds_certificate=certs.get("DigitalSigningCertificate"),
            ka_certificate=certs.get("KeyAgreementCertificate"),
            ka_top_up_certificate=certs.get("KeyAgreementTopUpCertificate"),
            floor_seq_number=floor,
            top_up_floor_seq_number=top_up,
            apply_time_based_cpv=(text(b, "ApplyTimeBasedCPVChecks") or "true") in ("true", "1"),
            execution_time=when,
        )
    except (ValueError, gbcs.GbcsError) as exc:
        raise Reject(C.E19, f"the credentials do not make a CS02b: {exc}") from exc
    return update.message_code, update.to_payload()


def _opt_int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _subject_eui(der: bytes) -> EUI64 | None:
    """The EUI-64 in a ZAZ1-profile certificate's subject (x500UniqueIdentifier), or None."""
    try:
        return gbcs.subject_eui(x509.load_der_x509_certificate(der))
    except ValueError:
        return None


def _is_certificate(der: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    return True


def _datetime(value: str | None) -> datetime | None:
    """An xs:dateTime (fromisoformat reads its Z and its fractions since Python 3.11)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


_WHILE_INSTALLING = frozenset(
    {
        DeviceStatus.WHITELISTED.value,
        DeviceStatus.INSTALLED_NOT_COMMISSIONED.value,
        DeviceStatus.COMMISSIONED.value,
    }
)
_USE_CASES = {
    # SRV: (the GBCS payload it becomes, the device statuses it is allowed in)
    "6.15.2": (_cs02d_payload, smi.REACHABLE),
    "6.15.1": (_cs02b_payload, smi.REACHABLE),
    "8.1.1": (_ecs70_payload, _WHILE_INSTALLING),
}


def transform(ctx: Ctx) -> Handled:
    """CV 4 (the gateway lets a critical SRV have CV 4 to 7 only, and 5 to 7 are signed
    pre-commands): check, build the GBCS pre-command, record its hash, answer I0
    sr:PreCommand. The transform is the request recorded, on its one device."""
    row = known(ctx, ctx.req.target)
    payload_for, statuses = _USE_CASES[ctx.srv.variant]
    actionable(ctx, row, statuses)
    code, payload = payload_for(ctx, row)
    counter = transaction_id(ctx.req.counter)
    pre = gbcs.precommand(
        gbcs.command(payload, ctx.req.target, counter, originator=ctx.user, message_code=code)
    )
    commands.record(
        ctx.conn,
        precommand_id(ctx.req.request_id),
        request_id=ctx.req.request_id,
        user=ctx.user,
        srv=ctx.srv.variant,
        device=ctx.req.target,
        chf=row.chf,
        detail=_PRE + hashlib.sha256(pre).hexdigest(),
        now=ctx.now,
    )
    body = el(
        "PreCommand",
        None,
        el("GBCSVersion", GBCS_VERSION),
        el("GBCSPayload", base64.b64encode(pre).decode()),
    )
    return Handled(C.I0, body, 1)


# ------------------------------------------------------------------ signed pre-command (CV 5/6/7)


def signed_precommand(ctx: Ctx) -> Handled:
    """CV 5/6/7 ``sr:SignedPreCommand``: match, verify, MAC, send (or return for local)."""
    b = _body(ctx, "SignedPreCommand")
    raw = base64_binary(text(b, "GBCSPayload"))
    if raw is None:
        raise Reject(C.E30, "GBCSPayload is not base64")
    issued = commands.find(ctx.conn, precommand_id(ctx.req.request_id))
    if issued is None or issued.user != ctx.user or issued.srv != ctx.srv.variant:
        raise Reject(C.E30, f"no pre-command was issued for {ctx.req.request_id}")
    if issued.done:
        raise Reject(C.E12, f"the pre-command of {ctx.req.request_id} was used before")
    try:
        msg = gbcs.decode(raw)
    except gbcs.GbcsError as exc:
        raise Reject(C.E30, f"GBCSPayload is not GBCS: {exc}") from exc
    if msg.mac is not None or msg.security_header is not None:
        raise Reject(C.E30, "a signed pre-command carries no MAC")
    pre = gbcs.precommand_of(msg)
    if _PRE + hashlib.sha256(pre).hexdigest() != issued.detail:
        raise Reject(C.E30, "not the pre-command the DSP issued")
    keys = ctx.services.user_ds_keys(ctx.user)
    if msg.signature is None or not any(gbcs.verify_signature(msg, k) for k in keys):
        raise Reject(C.E31, f"not signed with a DS key of {ctx.user} in the SMKI repository")
    gbcs_keys = ctx.services.gbcs_keys
    command = gbcs.mac_signed_precommand(
        msg, ka_private=gbcs_keys.acb_ka_private, ka_public=gbcs_keys.ka_of(msg.target)
    )
    commands.mark_done(ctx.conn, issued.msg_id, ctx.now)
    if ctx.req.command_variant == 6:
        local = el("LocalCommand", None, el("GBCSPayload", base64.b64encode(command).decode()))
        return Handled(C.I0, local)  # not recorded again: its transform was
    row = smi.get_device(ctx.conn, msg.target)
    if row is None or row.chf is None:
        raise Reject(C.E20, f"{msg.target} is not behind a CHF")
    ctx.effects.command(
        ctx.req.request_id,
        ctx.srv,
        device=msg.target,
        chf=row.chf,
        region=smi.region_of(row),
        payload=command,
        detail="critical",
    )
    return Handled(C.I99)  # not recorded again: its transform was


def _critical(ctx: Ctx) -> Handled:
    if ctx.req.command_variant in SIGNED_PRE_COMMAND_CVS:
        return signed_precommand(ctx)
    return transform(ctx)


def commissioned_by_clock(r: ResponseCtx) -> None:
    """8.1.1: the ESME's signed success to ECS70 commissions it."""
    # a response to a critical command is believed only with the device's DS signature
    if not (r.ok and signed_by(r.payload, r.command.device, r.services.gbcs_keys)):
        return
    row = smi.get_device(r.conn, r.command.device)
    if row is not None and row.status != DeviceStatus.COMMISSIONED.value:
        smi.commission(r.conn, r.command.device, r.now)


ROUTES = (
    Route("6.15.1", _critical),
    Route("6.15.2", _critical),
    Route("8.1.1", _critical, on_response=commissioned_by_clock),
)
