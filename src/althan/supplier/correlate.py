"""Parse & Correlate for critical commands: is the DSP's pre-command substantively identical to
the Service Request it was transformed from (SEC Section H11)?

A supplier sends a critical Service Request with CommandVariant 4 (Transform); the DSP answers
with ``sr:PreCommand`` holding the GBCS it would have the device execute. Before signing it
(CV 5/6/7), the supplier decodes it and compares it, field by field, with what it asked for.
Both sides are read into the same named fields — what the request means in GBCS, and what the
pre-command says — and every field whose values differ is a :class:`Difference`:

* every use case: ``RequestID originator`` (the GBCS business originator), ``RequestID target``
  (the business target device), ``RequestID counter`` (the transaction ID), ``use case`` (the
  message code the SRV becomes), ``message type`` (a command), ``pre-command form`` (0xDF, no
  signature field, no MAC), ``supplementary remote party`` and ``header date-time`` (absent);
* 6.15.2 (CS02d): ``DeviceCertificate``;
* 6.15.1 (CS02b, the KRP modes): ``RemotePartyRole`` (the credentials replacement mode),
  ``authorising trust anchor cell``, ``RequestID counter (authorising seq number)``, each of
  ``DigitalSigningCertificate`` / ``KeyAgreementCertificate`` / ``KeyAgreementTopUpCertificate``
  and its ``… trust anchor cell``, ``CertificationPathCertificates``,
  ``RemotePartyFloorSeqNumber``, ``RemotePartyPrepaymentTopUpFloorSeqNumber``,
  ``ApplyTimeBasedCPVChecks``, ``ExecutionDateTime`` (DUIS 3000-12-31T00:00:00Z, cancellation,
  is GBCS 9999-12-31T23:59:59Z);
* 8.1.1 (ECS70): ``CurrentDateTime`` and ``TolerancePeriod`` (the clock's adjustment window),
  ``RequestID counter (DLMS invoke-id)``, ``DLMS access specifications``, ``DLMS clock data``.

Certificates compare by their whole DER (shown as serial, subject EUI and SHA-256 prefix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from althan import gbcs
from althan.duis.envelope import RequestEnvelope, parse_request
from althan.duis.namespaces import SR, sr_child, sr_text
from althan.duis.xmldsig import SignatureError, TrustStore, verify
from althan.duis.xmlsafe import DEFAULT_MAX_BYTES, parse_xml
from althan.gbcs.codec import Reader
from althan.gbcs.usecases.cs02b import CS02B_MESSAGE_CODE_BASE
from althan.model import DCC_EUI, EUI64
from althan.supplier.documents import read_response
from althan.supplier.field_values import (
    ABSENT,
    b64,
    describe_certificate,
    dlms_time,
    duis_datetime,
    iso,
    message_code_name,
)
from althan.supplier.parse import Check, Verdict

__all__ = [
    "CANCELLATION_DUIS",
    "SUPPORTED_SRVS",
    "Correlation",
    "Difference",
    "PreCommandMissing",
    "UnsupportedRequest",
    "compare",
    "correlate",
    "precommand_fields",
    "request_fields",
]

Fields = dict[str, str]
_P = TypeVar("_P")

CANCELLATION_DUIS = datetime(3000, 12, 31, tzinfo=UTC)
"""The DUIS 6.15.1 ExecutionDateTime that cancels a pending future-dated update (its GBCS
counterpart is ``althan.gbcs.CANCELLATION_TIME``, 9999-12-31T23:59:59Z)."""
_ROLE_NAMES = {v: k for k, v in gbcs.REMOTE_PARTY_ROLES.items()}
_MODE_OF_ROLE = gbcs.KRP_MODES
_ROLE_OF_MODE = {mode: role for role, mode in gbcs.KRP_MODES.items()}
_CERT_TAGS = (
    ("DigitalSigningCertificate", "ds", False),
    ("KeyAgreementCertificate", "ka", False),
    ("KeyAgreementTopUpCertificate", "ka", True),
)


@dataclass(frozen=True, slots=True)
class Difference:
    """A field whose value in the pre-command is not what the request asked for."""

    field: str
    request: str
    precommand: str


# ------------------------------------------------------------------ the header, both sides


def _header_expected(env: RequestEnvelope, code: int) -> Fields:
    rid = env.request_id
    return {
        "RequestID originator": str(rid.originator),
        "RequestID target": str(rid.target),
        "RequestID counter": str(rid.counter),
        "use case": message_code_name(code),
        "message type": gbcs.CraFlag.COMMAND.name,
        "pre-command form": "0xDF, no signature field, no MAC",
        "supplementary remote party": ABSENT,
        "header date-time": ABSENT,
    }


def _header_actual(msg: gbcs.GbcsMessage) -> Fields:
    form = "0xDD (MAC header)" if msg.is_mac_form else "0xDF"
    form += ", a signature field" if msg.signature_field else ", no signature field"
    form += ", a MAC" if msg.mac is not None else ", no MAC"
    srp = msg.supplementary_remote_party
    dt = msg.date_time
    return {
        "RequestID originator": str(msg.originator),
        "RequestID target": str(msg.target),
        "RequestID counter": str(msg.transaction_id),
        "use case": message_code_name(msg.message_code),
        "message type": msg.cra_flag.name,
        "pre-command form": form,
        "supplementary remote party": ABSENT if srp is None else str(srp),
        "header date-time": (
            ABSENT
            if msg.date_time_raw is None
            else (iso(dt) if dt is not None else msg.date_time_raw.hex().upper())
        ),
    }


# ------------------------------------------------------------------ 6.15.2 CS02d


def _cs02d_request(env: RequestEnvelope) -> tuple[int, Fields]:
    der = b64(sr_text(env.body, "DeviceCertificate"))
    return gbcs.MessageCode.CS02D, {"DeviceCertificate": describe_certificate(der)}


def _command_payload(msg: gbcs.GbcsMessage, decoder: Callable[[Reader], _P]) -> _P | str:
    """The payload read as the use case's command whatever the header says (a CRA flag or
    message code changed leaves it a RawPayload), or why it is not one."""
    raw = msg.payload.encode()
    try:
        r = Reader(raw)
        payload = decoder(r)
        r.expect_end("command")
    except gbcs.GbcsError as exc:
        return f"not the use case's command: {exc}"
    return payload


def _cs02d_precommand(msg: gbcs.GbcsMessage) -> Fields:
    p = _command_payload(msg, gbcs.UpdateDeviceCertificateCommand.decode)
    return {"DeviceCertificate": p if isinstance(p, str) else describe_certificate(p.certificate)}


# ------------------------------------------------------------------ 6.15.1 CS02b


def _cell(role: int | None, usage: str, top_up: bool = False) -> str:
    name = _ROLE_NAMES.get(role, f"role {role}") if role is not None else "?"
    return f"{name}, {usage}{' top-up' if top_up else ''}"


def _opt_int(text: str | None) -> str:
    if text is None:
        return ABSENT
    try:
        return str(int(text))
    except ValueError:
        return f"not an integer: {text[:40]!r}"


def _execution_time(text: str | None) -> str:
    if text is None:
        return ABSENT
    when = duis_datetime(text)
    if when is None:
        return f"not a date-time: {text[:40]!r}"
    return iso(gbcs.CANCELLATION_TIME if when == CANCELLATION_DUIS else when)


def _cs02b_request(env: RequestEnvelope) -> tuple[int, Fields]:
    b = env.body
    role_name = sr_text(b, "RemotePartyRole") or ""
    role = gbcs.REMOTE_PARTY_ROLES.get(role_name)
    mode = _MODE_OF_ROLE.get(role) if role is not None else None
    code = CS02B_MESSAGE_CODE_BASE + mode if mode is not None else 0
    out: Fields = {
        "RemotePartyRole": role_name or ABSENT,
        "authorising trust anchor cell": _cell(role, "ds"),
        "RequestID counter (authorising seq number)": str(env.request_id.counter),
    }
    group = b.find(f"{SR}ReplacementCertificates/{SR}SupplierOrNetworkOperatorCertificates")
    for tag, usage, top_up in _CERT_TAGS:
        el = sr_child(group, tag) if group is not None else None
        der = b64(el.text if el is not None else None)
        out[tag] = ABSENT if el is None else describe_certificate(der)
        out[f"{tag} trust anchor cell"] = ABSENT if el is None else _cell(role, usage, top_up)
    path = [
        describe_certificate(b64(e.text))
        for e in b.iterfind(f"{SR}CertificationPathCertificates/{SR}Certificate")
    ]
    out["CertificationPathCertificates"] = "; ".join(path) or ABSENT
    out["RemotePartyFloorSeqNumber"] = _opt_int(sr_text(b, "RemotePartyFloorSeqNumber"))
    out["RemotePartyPrepaymentTopUpFloorSeqNumber"] = _opt_int(
        sr_text(b, "RemotePartyPrepaymentTopUpFloorSeqNumber")
    )
    apply = (sr_text(b, "ApplyTimeBasedCPVChecks") or "true") in ("true", "1")
    out["ApplyTimeBasedCPVChecks"] = str(apply).lower()
    out["ExecutionDateTime"] = _execution_time(sr_text(b, "ExecutionDateTime"))
    return code, out


def _cs02b_precommand(msg: gbcs.GbcsMessage) -> Fields:
    p = _command_payload(msg, gbcs.UpdateSecurityCredentialsCommand.decode)
    if isinstance(p, str):
        return {"RemotePartyRole": p}
    try:
        u = gbcs.CredentialsUpdate.from_payload(p)
    except gbcs.GbcsError as exc:
        return {"RemotePartyRole": f"not a KRP credentials update: {exc}"}
    role = _ROLE_OF_MODE.get(u.mode)
    auth = u.authorising_cell
    out: Fields = {
        "RemotePartyRole": _ROLE_NAMES.get(role, "?") if role is not None else f"mode {u.mode}",
        "authorising trust anchor cell": (
            ABSENT if auth is None else _cell(auth.role, auth.usage, auth.top_up)
        ),
        "RequestID counter (authorising seq number)": str(u.seq_number),
    }
    for tag, usage, top_up in _CERT_TAGS:
        reps = [r for r in u.replacements if (r.cell.usage, r.cell.top_up) == (usage, top_up)]
        out[tag] = " + ".join(describe_certificate(r.certificate) for r in reps) or ABSENT
        out[f"{tag} trust anchor cell"] = (
            " + ".join(_cell(r.cell.role, usage, top_up) for r in reps) or ABSENT
        )
    path = [describe_certificate(c) for c in u.certification_path]
    out["CertificationPathCertificates"] = "; ".join(path) or ABSENT
    for name, value in (
        ("RemotePartyFloorSeqNumber", u.floor_seq_number),
        ("RemotePartyPrepaymentTopUpFloorSeqNumber", u.top_up_floor_seq_number),
    ):
        out[name] = ABSENT if value is None else str(value)
    out["ApplyTimeBasedCPVChecks"] = str(u.apply_time_based_cpv).lower()
    out["ExecutionDateTime"] = ABSENT if u.execution_time is None else iso(u.execution_time)
    return out


# ------------------------------------------------------------------ 8.1.1 ECS70


def _ecs70_fields(req: gbcs.DlmsAccessRequest) -> Fields:
    """The substance of an ECS70 DLMS request: the clock window and the rest, by name."""
    window: tuple[gbcs.DlmsData, ...] = ()
    if len(req.data) >= 2 and isinstance(req.data[1].value, tuple):
        window = req.data[1].value
    times = [dlms_time(w.value) if isinstance(w.value, bytes) else None for w in window[1:3]]
    start = times[0] if times else None
    end = times[1] if len(times) > 1 else None
    tolerance = (
        str(int((end - start).total_seconds())) if start is not None and end is not None else "?"
    )
    others = (req.data[0:1], window[0:1], req.data[2:])
    return {
        "CurrentDateTime": iso(start) if start is not None else "?",
        "TolerancePeriod": tolerance,
        "RequestID counter (DLMS invoke-id)": f"0x{req.invoke_id:08X}",
        "DLMS access specifications": "; ".join(
            f"{s.kind}/{s.class_id}/{s.obis.hex().upper()}/{s.member_id}" for s in req.specs
        ),
        "DLMS clock data": repr(others),
    }


def _ecs70_request(env: RequestEnvelope) -> tuple[int, Fields]:
    b = env.body
    current = duis_datetime(sr_text(b, "CurrentDateTime") or "")
    tolerance = _opt_int(sr_text(b, "TolerancePeriod") or "0")
    code = gbcs.MessageCode.ECS70
    if current is None or not tolerance.lstrip("-").isdigit():
        return code, {
            "CurrentDateTime": "not a date-time" if current is None else iso(current),
            "TolerancePeriod": tolerance,
        }
    built = gbcs.ecs70_set_clock(current, int(tolerance), env.request_id.counter)
    fields = _ecs70_fields(built)
    fields["CurrentDateTime"] = iso(current)
    fields["TolerancePeriod"] = tolerance
    return code, fields


def _ecs70_precommand(msg: gbcs.GbcsMessage) -> Fields:
    req = _command_payload(msg, gbcs.DlmsAccessRequest.decode)
    return {"CurrentDateTime": req} if isinstance(req, str) else _ecs70_fields(req)


# ------------------------------------------------------------------ the table, and compare

_RequestSide = Callable[[RequestEnvelope], tuple[int, Fields]]
_PrecommandSide = Callable[[gbcs.GbcsMessage], Fields]
_SRVS: dict[str, tuple[str, _RequestSide, _PrecommandSide]] = {
    "6.15.1": ("UpdateSecurityCredentialsKRP", _cs02b_request, _cs02b_precommand),
    "6.15.2": ("UpdateSecurityCredentialsDevice", _cs02d_request, _cs02d_precommand),
    "8.1.1": ("CommissionDeviceSynchroniseClock", _ecs70_request, _ecs70_precommand),
}
SUPPORTED_SRVS = tuple(_SRVS)


class UnsupportedRequest(ValueError):
    """The request is not a critical Service Request correlate knows (6.15.1, 6.15.2, 8.1.1)."""


def _row(env: RequestEnvelope) -> tuple[str, _RequestSide, _PrecommandSide]:
    row = _SRVS.get(env.service_reference_variant)
    if row is None:
        raise UnsupportedRequest(
            f"SRV {env.service_reference_variant} is not a critical Service Request correlate "
            f"knows ({', '.join(SUPPORTED_SRVS)})"
        )
    if env.body_name != row[0]:
        raise UnsupportedRequest(
            f"SRV {env.service_reference_variant} carries sr:{row[0]}, not sr:{env.body_name}"
        )
    return row


def request_fields(env: RequestEnvelope) -> Fields:
    """What the request asks for, in the pre-command's terms. Raises UnsupportedRequest."""
    _body, side, _pre = _row(env)
    code, fields = side(env)
    return _header_expected(env, code) | fields


def precommand_fields(env: RequestEnvelope, msg: gbcs.GbcsMessage) -> Fields:
    """What the pre-command says, under the request's field names."""
    _body, _side, pre = _row(env)
    return _header_actual(msg) | pre(msg)


def compare(env: RequestEnvelope, msg: gbcs.GbcsMessage) -> tuple[Difference, ...]:
    """Every field whose value differs between the request and the pre-command."""
    want = request_fields(env)
    got = precommand_fields(env, msg)
    return tuple(
        Difference(name, want.get(name, ABSENT), got.get(name, ABSENT))
        for name in dict.fromkeys([*want, *got])
        if want.get(name, ABSENT) != got.get(name, ABSENT)
    )


@dataclass(frozen=True, slots=True)
class Correlation:
    """The verdict on one (request, Transform answer) pair: the DSP's XML signature on the
    answer (None when not checked) and every difference."""

    srv: str
    request_id: str
    differences: tuple[Difference, ...]
    xml_signature: Check | None

    @property
    def identical(self) -> bool:
        sig_ok = self.xml_signature is None or self.xml_signature.verdict is Verdict.VALID
        return sig_ok and not self.differences


class PreCommandMissing(ValueError):
    """The second document is a DUIS response, but carries no pre-command."""


def correlate(
    request: bytes,
    answer: bytes,
    trust: TrustStore | None,
    *,
    dcc_eui: EUI64 = DCC_EUI,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Correlation:
    """Correlate a critical Service Request (DUIS XML) with the DSP's Transform answer (DUIS
    XML with ``sr:PreCommand``). ``trust``: the DCC's XML-signing certificates (None: the
    answer's signature is not checked). Raises ``XmlError``, ``EnvelopeError`` (the request is
    not a DUIS request), ``NotADuisResponse``, ``UnsupportedRequest``, ``PreCommandMissing``."""
    env = parse_request(parse_xml(request, max_bytes=max_bytes))
    _row(env)
    root = parse_xml(answer, max_bytes=max_bytes)
    doc = read_response(root)
    if doc.gbcs_holder != "PreCommand":
        raise PreCommandMissing(
            f"the answer ({doc.kind}, {doc.response_code}) carries no sr:PreCommand"
        )
    sig = None
    if trust is not None:
        try:
            v = verify(root, trust, dcc_eui=dcc_eui, max_bytes=max_bytes)
            sig = Check("xml-signature", Verdict.VALID, f"signed by {v.signer.eui}")
        except SignatureError as exc:
            sig = Check("xml-signature", Verdict.INVALID, f"{type(exc).__name__}: {exc}")
    diffs: list[Difference] = []
    if doc.request_id != str(env.request_id):
        diffs.append(Difference("RequestID", str(env.request_id), doc.request_id or ABSENT))
    if doc.gbcs is None:
        diffs.append(Difference("GBCSPayload", "a pre-command", doc.gbcs_error or ABSENT))
    else:
        try:
            msg = gbcs.decode(doc.gbcs)
        except gbcs.GbcsError as exc:
            diffs.append(Difference("GBCSPayload", "a pre-command", f"not GBCS: {exc}"))
        else:
            diffs.extend(compare(env, msg))
    return Correlation(env.service_reference_variant, str(env.request_id), tuple(diffs), sig)
