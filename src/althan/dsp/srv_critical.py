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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid5

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import insert, select, update

from althan import gbcs
from althan.dsp import catalogue as C
from althan.dsp.bodies import el
from althan.dsp.smi import base64_binary, get_device, may_act, text
from althan.dsp.srv_8 import send_command
from althan.model import EUI64, DeviceStatus, DeviceType, UserRole
from althan.store.tables import device_commands

if TYPE_CHECKING:
    from althan.dsp.service import Ctx, Dsp, Handled, Handler

__all__ = [
    "GBCS_VERSION",
    "HANDLERS",
    "SIGNED_PRE_COMMAND_CVS",
    "UserDsKeys",
    "precommand_id",
    "signed_precommand",
    "smki_user_ds_keys",
    "transform",
]

GBCS_VERSION = "4.0"
"""The GBCS version named in sr:PreCommand/GBCSVersion."""
SIGNED_PRE_COMMAND_CVS = frozenset({5, 6, 7})
MESSAGE_CODE_CS02D = 0x000B

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
_NS = uuid.UUID("0c6b7a0e-3f1d-4b8e-9a54-2b77e1c0d6a5")
_PRE = "pre:"

UserDsKeys = Callable[[EUI64], Sequence[ec.EllipticCurvePublicKey]]


def smki_user_ds_keys(eui: EUI64) -> list[ec.EllipticCurvePublicKey]:
    """The GBCS DS public keys of a DCC user's organisation certificates in the SMKI repository
    (here the DCC Boxed ZAZ1 keystore): a signed pre-command must verify with one of them."""
    from althan.duis.peers import keystore_json
    from althan.smki.boxed_keystore import load_boxed_keystore

    out: list[ec.EllipticCurvePublicKey] = []
    for k in load_boxed_keystore(keystore_json()):
        pub = k.cert.public_key()
        if k.eui == eui and k.usage == "ds" and isinstance(pub, ec.EllipticCurvePublicKey):
            out.append(pub)
    return out


def precommand_id(request_id: str) -> str:
    """The device_commands msg_id that records the pre-command issued for a RequestID."""
    return f"pre-{uuid5(_NS, request_id)}"


# ------------------------------------------------------------------ transform (CV 4)


def _payload_for(ctx: Ctx, row: Any) -> tuple[int, gbcs.usecases.Payload] | C.Code:
    """(message code, GBCS payload) of the request's use case, or the refusal code."""
    b = ctx.req.body
    name = b.tag.rsplit("}", 1)[-1]
    variant = ctx.srv.variant
    if variant == "6.15.2":
        if name != "UpdateSecurityCredentialsDevice":
            return C.E19
        cert = base64_binary(text(b, "DeviceCertificate"))
        if cert is None or not _is_certificate(cert):
            return C.E19
        return MESSAGE_CODE_CS02D, gbcs.UpdateDeviceCertificateCommand(cert)
    if variant == "6.15.1":
        if name != "UpdateSecurityCredentialsKRP":
            return C.E19
        return _cs02b_payload(ctx, b)
    if variant == "8.1.1":
        if name != "CommissionDeviceSynchroniseClock":
            return C.E19
        if row.device_type != DeviceType.ESME.value:
            return C.E20  # ECS70 (ESME) only; GCS28 (GSME) is not supported
        current = _datetime(text(b, "CurrentDateTime"))
        tolerance = int(text(b, "TolerancePeriod") or "0")
        if current is None:
            return C.E19
        return gbcs.builders.MESSAGE_CODE_ECS70, gbcs.builders.ecs70_set_clock(
            current, tolerance, _counter(ctx.req.counter)
        )
    return C.E21


_ROLE_USERS: dict[str, frozenset[UserRole]] = {
    "Supplier": frozenset({UserRole.IS, UserRole.ES, UserRole.GS}),
    "NetworkOperator": frozenset({UserRole.ED, UserRole.GT}),
}
CANCELLATION_DUIS = datetime(3000, 12, 31, tzinfo=UTC)
"""DUIS 6.15.1 ExecutionDateTime that cancels a pending future-dated update..."""
CANCELLATION_GBCS = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""...and the GBCS execution date-time that says so (as the RTDS 6.15.1 cancellation pair)."""
_X500_UNIQUE_IDENTIFIER = "2.5.4.45"


def _cs02b_payload(ctx: Ctx, b: Any) -> tuple[int, gbcs.usecases.Payload] | C.Code:
    """6.15.1 UpdateSecurityCredentialsKRP -> CS02b (Supplier / Network Operator by itself)."""
    role_name = text(b, "RemotePartyRole") or ""
    if role_name == "LoadController":
        return C.E21  # CS02g (load controller credentials): not supported
    if role_name not in _ROLE_USERS or not ctx.roles & _ROLE_USERS[role_name]:
        return C.E3  # a user replaces only the credentials of its own role
    certs: dict[str, bytes] = {}
    group = b.find(f".//{{{SR_NS}}}SupplierOrNetworkOperatorCertificates")
    for tag in (
        "DigitalSigningCertificate",
        "KeyAgreementCertificate",
        "KeyAgreementTopUpCertificate",
    ):
        if group is None or group.find(f"{{{SR_NS}}}{tag}") is None:
            continue
        der = base64_binary(text(group, tag))
        if der is None or _subject_eui(der) is None:
            return C.E19
        if _subject_eui(der) != ctx.user:
            return C.E3  # the replacing credentials must be the user's own
        certs[tag] = der
    path = [
        base64_binary(e.text.strip() if e.text else None)
        for e in b.iterfind(f"{{{SR_NS}}}CertificationPathCertificates/{{{SR_NS}}}Certificate")
    ]
    if not certs or not path or any(c is None or not _is_certificate(c) for c in path):
        return C.E19
    when = _datetime(text(b, "ExecutionDateTime")) if text(b, "ExecutionDateTime") else None
    if text(b, "ExecutionDateTime") and when is None:
        return C.E19
    if when is not None and when == CANCELLATION_DUIS:
        when = CANCELLATION_GBCS
    try:
        floor = _opt_int(text(b, "RemotePartyFloorSeqNumber"))
        top_up = _opt_int(text(b, "RemotePartyPrepaymentTopUpFloorSeqNumber"))
        update = gbcs.builders.cs02b_update_credentials(
            role=gbcs.builders.REMOTE_PARTY_ROLES[role_name],
            seq_number=_counter(ctx.req.counter),
            certification_path=[c for c in path if c is not None],
            ds_certificate=certs.get("DigitalSigningCertificate"),
            ka_certificate=certs.get("KeyAgreementCertificate"),
            ka_top_up_certificate=certs.get("KeyAgreementTopUpCertificate"),
            floor_seq_number=floor,
            top_up_floor_seq_number=top_up,
            apply_time_based_cpv=(text(b, "ApplyTimeBasedCPVChecks") or "true") in ("true", "1"),
            execution_time=when,
        )
    except (ValueError, gbcs.GbcsError):
        return C.E19
    return update.message_code, update.to_payload()


def _opt_int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _subject_eui(der: bytes) -> EUI64 | None:
    """The EUI-64 in a ZAZ1-profile certificate's subject (x500UniqueIdentifier), or None."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        attrs = cert.subject.get_attributes_for_oid(x509.ObjectIdentifier(_X500_UNIQUE_IDENTIFIER))
    except ValueError:
        return None
    raw = attrs[0].value if attrs else None
    if isinstance(raw, bytes) and len(raw) == 9 and raw[0] == 0:  # BIT STRING, 0 unused bits
        return EUI64.parse(raw[1:].hex())
    return None


def _is_certificate(der: bytes) -> bool:
    from cryptography import x509

    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    return True


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _counter(counter: int) -> int:
    return counter & ((1 << 62) - 1)


def _allowed_status(variant: str) -> frozenset[str]:
    if variant == "8.1.1":
        return frozenset(
            {
                DeviceStatus.WHITELISTED.value,
                DeviceStatus.INSTALLED_NOT_COMMISSIONED.value,
                DeviceStatus.COMMISSIONED.value,
            }
        )
    return frozenset({DeviceStatus.COMMISSIONED.value})


def transform(dsp: Dsp, ctx: Ctx) -> Handled:
    """CV 4: check, build the GBCS pre-command, record its hash, answer I0 sr:PreCommand."""
    from althan.dsp.service import Handled

    if ctx.req.command_variant != 4:
        return Handled(C.E11)
    row = get_device(ctx.conn, ctx.req.target)
    if row is None:
        return Handled(C.E5)
    if not may_act(row, ctx.user):
        return Handled(C.E17)
    if row.status not in _allowed_status(ctx.srv.variant) or row.chf is None:
        return Handled(C.E20)
    built = _payload_for(ctx, row)
    if isinstance(built, C.Code):
        return Handled(built)
    code, payload = built
    pre = gbcs.builders.build_precommand(
        originator=ctx.user,
        target=ctx.req.target,
        counter=_counter(ctx.req.counter),
        message_code=code,
        payload=payload,
    )
    ctx.conn.execute(
        insert(device_commands).values(
            msg_id=precommand_id(ctx.req.request_id_text),
            request_id=ctx.req.request_id_text,
            user_eui=ctx.user,
            srv=ctx.srv.variant,
            device=ctx.req.target,
            chf=row.chf,
            detail=_PRE + hashlib.sha256(pre).hexdigest(),
            created_at=ctx.now,
        )
    )
    body = el(
        "PreCommand",
        None,
        el("GBCSVersion", GBCS_VERSION),
        el("GBCSPayload", base64.b64encode(pre).decode()),
    )
    return Handled(C.I0, body, 1)


# ------------------------------------------------------------------ signed pre-command (CV 5/6/7)


def signed_precommand(dsp: Dsp, ctx: Ctx, user_keys: UserDsKeys | None = None) -> Handled:
    """CV 5/6/7 ``sr:SignedPreCommand``: match, verify, MAC, send (or return for local)."""
    from althan.dsp.service import Handled

    b = ctx.req.body
    if b.tag.rsplit("}", 1)[-1] != "SignedPreCommand":
        return Handled(C.E19)
    raw = base64_binary(text(b, "GBCSPayload"))
    if raw is None:
        return Handled(C.E30)
    issued = ctx.conn.execute(
        select(device_commands).where(
            device_commands.c.msg_id == precommand_id(ctx.req.request_id_text)
        )
    ).first()
    if issued is None or issued.user_eui != ctx.user or issued.srv != ctx.srv.variant:
        return Handled(C.E30)
    if issued.done_at is not None:
        return Handled(C.E12)
    try:
        msg = gbcs.decode(raw)
    except gbcs.GbcsError:
        return Handled(C.E30)
    if msg.mac is not None or msg.security_header is not None:
        return Handled(C.E30)
    pre = gbcs.builders.precommand_of(msg)
    if _PRE + hashlib.sha256(pre).hexdigest() != issued.detail:
        return Handled(C.E30)
    keys = (user_keys or smki_user_ds_keys)(ctx.user)
    if msg.signature is None or not any(gbcs.verify_signature(msg, k) for k in keys):
        return Handled(C.E31)
    command = gbcs.builders.mac_signed_precommand(
        msg, ka_private=dsp.gbcs_keys.acb_ka_private, ka_public=dsp.gbcs_keys.ka_of(msg.target)
    )
    ctx.conn.execute(
        update(device_commands)
        .where(device_commands.c.msg_id == issued.msg_id)
        .values(done_at=ctx.now)
    )
    if ctx.req.command_variant == 6:
        local = el("LocalCommand", None, el("GBCSPayload", base64.b64encode(command).decode()))
        return Handled(C.I0, local, 1)
    row = get_device(ctx.conn, msg.target)
    if row is None or row.chf is None:
        return Handled(C.E20)
    send_command(dsp, ctx, msg.target, row.chf, row.region, command, "critical")
    return Handled(C.I99, device_count=1)


def _critical(dsp: Dsp, ctx: Ctx) -> Handled:
    if ctx.req.command_variant in SIGNED_PRE_COMMAND_CVS:
        return signed_precommand(dsp, ctx)
    return transform(dsp, ctx)


HANDLERS: dict[str, Handler] = {
    "6.15.1": _critical,
    "6.15.2": _critical,
    "8.1.1": _critical,
}
