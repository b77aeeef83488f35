"""CS02b Update Security Credentials (DUIS 6.15.1, critical; CS02g shares its payloads).

The "X by X" credentials replacement modes: the message code is 0x0100 + the
CredentialsReplacementMode (0x0102 Supplier by Supplier, 0x0103 Network Operator by Network
Operator). The payload (GBCS ASN.1, as in the RTDS 6.15.1 vectors)::

  UpdateSecurityCredentials ::= SEQUENCE {
    authorisingRemotePartyControl SEQUENCE {
      credentialsReplacementMode INTEGER,
      plainTextSymmetricKey [0] OCTET STRING OPTIONAL,        -- not used by KRP modes
      applyTimeBasedCPVChecks [1] INTEGER { apply(0), disapply(1) } DEFAULT apply,
      authorisingRemotePartyTACellIdentifier [2] TrustAnchorCellIdentifier OPTIONAL,
      authorisingRemotePartySeqNumber [3] INTEGER,
      newRemotePartyFloorSeqNumber [4] INTEGER OPTIONAL,
      newRemotePartySpecialistFloorSeqNumber [5] SEQUENCE OF SEQUENCE {
        seqNumberUsage INTEGER { prepaymentTopUp(0) }, seqNumber INTEGER } OPTIONAL },
    replacements SEQUENCE OF SEQUENCE { replacingCertificate Certificate,
                                        targetTrustAnchorCell TrustAnchorCellIdentifier },
    certificationPathCertificates SEQUENCE OF Certificate,
    executionDateTime GeneralizedTime OPTIONAL }
  TrustAnchorCellIdentifier ::= SEQUENCE { remotePartyRole INTEGER, keyUsage BIT STRING,
                                           cellUsage INTEGER { management(0),
                                                               prepaymentTopUp(1) } DEFAULT 0 }

The wire payloads keep the control and replacements as DER (so that every RTDS vector
round-trips); :class:`CredentialsUpdate` is the typed view of a KRP update, and
:class:`ReplacementOutcome` / :func:`cs02b_execution_outcome` the device's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from althan.gbcs.codec import (
    TAG_GENERALIZED_TIME,
    TAG_SEQUENCE,
    U64_MAX,
    Reader,
    der,
    der_integer,
    der_null,
    der_octets,
    der_time,
    read_any_tlv,
    read_integer,
    read_null,
    read_octets,
    read_time,
    read_tlv,
    read_tlv_width,
)
from althan.gbcs.errors import GbcsPayloadError
from althan.gbcs.usecases.base import MessageCode, UseCase

REMOTE_PARTY_ROLES: dict[str, int] = {
    "Root": 0,
    "Recovery": 1,
    "Supplier": 2,
    "NetworkOperator": 3,
    "ACB": 4,
    "TransCoS": 5,
    "WANProvider": 6,
    "IssuingAuthority": 7,
    "Other": 127,
}
"""GBCS RemotePartyRole values by their DUIS name."""

KRP_MODES: dict[int, int] = {2: 2, 3: 3}
"""Remote party role -> CredentialsReplacementMode of the KRP (6.15.1 CS02b) modes built here:
Supplier by Supplier (2), Network Operator by Network Operator (3)."""

CS02B_MESSAGE_CODE_BASE = 0x0100
STATUS_SUCCESS = 0
STATUS_BAD_CERTIFICATE = 5
STATUS_TRUST_ANCHOR_NOT_FOUND = 25
STATUS_OTHER = 127
CANCELLATION_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The execution date-time of a CS02b that cancels a pending future-dated update."""

_TAG_BIT_STRING = 0x03
_TAG_ENUMERATED = 0x0A
_KEY_USAGE_BITS = {"ds": bytes.fromhex("0780"), "ka": bytes.fromhex("0308")}
_KEY_USAGE_OF_BITS = {v: k for k, v in _KEY_USAGE_BITS.items()}


@dataclass(frozen=True, slots=True)
class UpdateSecurityCredentialsCommand:
    """CS02b/CS02g command. ``control`` (authorising remote party control) and ``replacements``
    are kept as DER; ``certificates`` are the certification path certificates (DER)."""

    control: bytes
    replacements: bytes
    certificates: tuple[bytes, ...]
    execution_time: datetime | None = None
    length_width: int = 0
    certificates_length_width: int = 0

    def encode(self) -> bytes:
        certs = b"".join(self.certificates)
        body = (
            self.control
            + self.replacements
            + der(TAG_SEQUENCE, certs, self.certificates_length_width)
        )
        if self.execution_time is not None:
            body += der_time(self.execution_time)
        return der(TAG_SEQUENCE, body, self.length_width)

    @classmethod
    def decode(cls, r: Reader) -> UpdateSecurityCredentialsCommand:
        s, width = read_tlv_width(r, TAG_SEQUENCE, "update security credentials command")
        _t, control = read_any_tlv(s, "authorising remote party control")
        _t, replacements = read_any_tlv(s, "replacements")
        certs_r, cwidth = read_tlv_width(s, TAG_SEQUENCE, "certification path certificates")
        certs = []
        while not certs_r.at_end():
            certs.append(read_any_tlv(certs_r, "certificate")[1])
        when = None
        if not s.at_end() and s.peek("execution date-time") == TAG_GENERALIZED_TIME:
            when = read_time(s, "execution date-time")
        s.expect_end("update security credentials command")
        return cls(control, replacements, tuple(certs), when, width, cwidth)


@dataclass(frozen=True, slots=True)
class UpdateSecurityCredentialsResponse:
    """CS02b/CS02g response: command accepted, and (immediate) the execution outcome as DER."""

    execution_outcome: bytes | None = None
    length_width: int = 0

    def encode(self) -> bytes:
        return der(TAG_SEQUENCE, der_null() + (self.execution_outcome or b""), self.length_width)

    @classmethod
    def decode(cls, r: Reader) -> UpdateSecurityCredentialsResponse:
        s, width = read_tlv_width(r, TAG_SEQUENCE, "update security credentials response")
        read_null(s, "command accepted")
        outcome = None
        if not s.at_end():
            outcome = read_any_tlv(s, "execution outcome")[1]
        s.expect_end("update security credentials response")
        return cls(outcome, width)


@dataclass(frozen=True, slots=True)
class UpdateSecurityCredentialsAlert:
    """CS02b/CS02g future-dated alert (0x8F66 success / 0x8F67 failure)."""

    alert_code: int
    execution_time: datetime
    execution_outcome: bytes
    length_width: int = 0

    def encode(self) -> bytes:
        return der(
            TAG_SEQUENCE,
            der_integer(self.alert_code) + der_time(self.execution_time) + self.execution_outcome,
            self.length_width,
        )

    @classmethod
    def decode(cls, r: Reader) -> UpdateSecurityCredentialsAlert:
        s, width = read_tlv_width(r, TAG_SEQUENCE, "update security credentials alert")
        code = read_integer(s, "alert code")
        t = read_time(s, "execution date-time")
        outcome = read_any_tlv(s, "execution outcome")[1]
        s.expect_end("update security credentials alert")
        return cls(code, t, outcome, width)


@dataclass(frozen=True, slots=True)
class TrustAnchorCell:
    """A device trust anchor cell: whose (``role``), which key (``usage`` "ds"/"ka"), and for
    KA whether the prepayment top-up cell (``top_up``)."""

    role: int
    usage: str
    top_up: bool = False

    def encode(self) -> bytes:
        if self.usage not in _KEY_USAGE_BITS:
            raise GbcsPayloadError(f"key usage must be 'ds' or 'ka', got {self.usage!r}")
        body = der_integer(self.role) + der(_TAG_BIT_STRING, _KEY_USAGE_BITS[self.usage])
        if self.top_up:
            body += der_integer(1)
        return der(TAG_SEQUENCE, body)


@dataclass(frozen=True, slots=True)
class TrustAnchorReplacement:
    """One replacing certificate (DER) and the trust anchor cell it goes into."""

    certificate: bytes
    cell: TrustAnchorCell

    def encode(self) -> bytes:
        return der(TAG_SEQUENCE, self.certificate + self.cell.encode())


@dataclass(frozen=True, slots=True)
class CredentialsUpdate:
    """A CS02b Update Security Credentials command, typed (the KRP modes)."""

    mode: int
    seq_number: int
    replacements: tuple[TrustAnchorReplacement, ...]
    certification_path: tuple[bytes, ...]
    authorising_cell: TrustAnchorCell | None = None
    apply_time_based_cpv: bool = True
    floor_seq_number: int | None = None
    top_up_floor_seq_number: int | None = None
    execution_time: datetime | None = None

    @property
    def message_code(self) -> int:
        return CS02B_MESSAGE_CODE_BASE + self.mode

    def control(self) -> bytes:
        body = der_integer(self.mode)
        if not self.apply_time_based_cpv:
            body += der(0x81, b"\x01")
        if self.authorising_cell is not None:
            body += der(0xA2, self.authorising_cell.encode()[2:])
        body += der(0x83, der_integer(self.seq_number)[2:])
        if self.floor_seq_number is not None:
            body += der(0x84, der_integer(self.floor_seq_number)[2:])
        if self.top_up_floor_seq_number is not None:
            spec = der(TAG_SEQUENCE, der_integer(0) + der_integer(self.top_up_floor_seq_number))
            body += der(0xA5, spec)
        return der(TAG_SEQUENCE, body)

    def to_payload(self) -> UpdateSecurityCredentialsCommand:
        return UpdateSecurityCredentialsCommand(
            control=self.control(),
            replacements=der(TAG_SEQUENCE, b"".join(r.encode() for r in self.replacements)),
            certificates=self.certification_path,
            execution_time=self.execution_time,
        )

    @classmethod
    def from_payload(cls, payload: UpdateSecurityCredentialsCommand) -> CredentialsUpdate:
        """Type a decoded CS02b payload. Raises GbcsPayloadError (offsets relative to the
        control / replacements element) when it is not a KRP update GBCS defines."""
        c = _read_control(payload.control)
        r = Reader(payload.replacements)
        seq = read_tlv(r, TAG_SEQUENCE, "replacements")
        r.expect_end("replacements")
        reps: list[TrustAnchorReplacement] = []
        while not seq.at_end():
            one = read_tlv(seq, TAG_SEQUENCE, "trust anchor replacement")
            _t, cert = read_any_tlv(one, "replacing certificate")
            if _t != TAG_SEQUENCE:
                raise GbcsPayloadError("replacing certificate: not a SEQUENCE", one.pos)
            cell = _read_cell(one, "target trust anchor cell")
            one.expect_end("trust anchor replacement")
            reps.append(TrustAnchorReplacement(cert, cell))
        return cls(
            mode=c[0],
            seq_number=c[3],
            replacements=tuple(reps),
            certification_path=payload.certificates,
            authorising_cell=c[2],
            apply_time_based_cpv=c[1],
            floor_seq_number=c[4],
            top_up_floor_seq_number=c[5],
            execution_time=payload.execution_time,
        )


def _read_cell(r: Reader, what: str) -> TrustAnchorCell:
    s = read_tlv(r, TAG_SEQUENCE, what)
    return _read_cell_body(s, what)


def _read_cell_body(s: Reader, what: str) -> TrustAnchorCell:
    role = read_integer(s, f"{what} remote party role")
    at = s.pos
    bits = read_tlv(s, _TAG_BIT_STRING, f"{what} key usage")
    usage = _KEY_USAGE_OF_BITS.get(bits.take(bits.remaining, f"{what} key usage"))
    if usage is None:
        raise GbcsPayloadError(
            f"{what}: key usage is neither digitalSignature nor keyAgreement", at
        )
    top_up = False
    if not s.at_end():
        at = s.pos
        cell_usage = read_integer(s, f"{what} cell usage")
        if cell_usage != 1:  # DER: the DEFAULT management(0) is never encoded
            raise GbcsPayloadError(f"{what}: cell usage {cell_usage} (only 1 may be encoded)", at)
        top_up = True
    s.expect_end(what)
    return TrustAnchorCell(role, usage, top_up)


def _implicit_int(r: Reader, tag: int, what: str) -> int:
    at = r.pos
    c = read_tlv(r, tag, what)
    body = c.take(c.remaining, what)
    if not body:
        raise GbcsPayloadError(f"{what}: empty INTEGER", at)
    return int.from_bytes(body, "big", signed=True)


def _read_control(
    data: bytes,
) -> tuple[int, bool, TrustAnchorCell | None, int, int | None, int | None]:
    r = Reader(data)
    s = read_tlv(r, TAG_SEQUENCE, "authorising remote party control")
    r.expect_end("authorising remote party control")
    mode = read_integer(s, "credentials replacement mode")
    apply = True
    cell = None
    floor = top_up = None

    def at(tag: int) -> bool:
        return not s.at_end() and s.peek("control field") == tag

    if at(0x80):
        raise GbcsPayloadError("plaintext symmetric key is not used by a KRP update", s.pos)
    if at(0x81):
        pos = s.pos
        v = _implicit_int(s, 0x81, "apply time based CPV checks")
        if v not in (0, 1):
            raise GbcsPayloadError(f"apply time based CPV checks: {v} is not 0 or 1", pos)
        apply = v == 0
    if at(0xA2):
        cell = _read_cell_body(
            read_tlv(s, 0xA2, "authorising TA cell"), "authorising remote party TA cell"
        )
    seq = _implicit_int(s, 0x83, "authorising remote party seq number")
    if at(0x84):
        floor = _implicit_int(s, 0x84, "new remote party floor seq number")
    if at(0xA5):
        spec = read_tlv(s, 0xA5, "specialist floor seq numbers")
        while not spec.at_end():
            one = read_tlv(spec, TAG_SEQUENCE, "specialist seq number")
            pos = one.pos
            if read_integer(one, "seq number usage") != 0:
                raise GbcsPayloadError("specialist seq number usage is not prepaymentTopUp", pos)
            top_up = read_integer(one, "specialist seq number")
            one.expect_end("specialist seq number")
    s.expect_end("authorising remote party control")
    return mode, apply, cell, seq, floor, top_up


def cs02b_update_credentials(
    *,
    role: int,
    seq_number: int,
    certification_path: Sequence[bytes],
    ds_certificate: bytes | None = None,
    ka_certificate: bytes | None = None,
    ka_top_up_certificate: bytes | None = None,
    floor_seq_number: int | None = None,
    top_up_floor_seq_number: int | None = None,
    apply_time_based_cpv: bool = True,
    execution_time: datetime | None = None,
) -> CredentialsUpdate:
    """The CS02b replacement-credentials command of DUIS 6.15.1 (UpdateSecurityCredentialsKRP):
    ``role`` (GBCS RemotePartyRole, 2 supplier / 3 network operator) replaces its own DS / KA /
    KA top-up trust anchors with the given certificates (DER), authorised by its DS key with
    ``seq_number`` (the RequestID counter). ``.to_payload()`` and ``.message_code`` make the
    pre-command (``althan.gbcs.build.precommand``)."""
    mode = KRP_MODES.get(role)
    if mode is None:
        raise GbcsPayloadError(f"remote party role {role} has no KRP credentials replacement mode")
    reps = tuple(
        TrustAnchorReplacement(cert, TrustAnchorCell(role, usage, top_up))
        for cert, usage, top_up in (
            (ds_certificate, "ds", False),
            (ka_certificate, "ka", False),
            (ka_top_up_certificate, "ka", True),
        )
        if cert is not None
    )
    if not reps:
        raise GbcsPayloadError("a credentials update needs at least one replacing certificate")
    if not certification_path:
        raise GbcsPayloadError("a credentials update needs its certification path certificates")
    for v, name in ((seq_number, "seq number"), (floor_seq_number, "floor seq number")):
        if v is not None and not 0 <= v <= U64_MAX:
            raise GbcsPayloadError(f"{name} {v} out of range")
    return CredentialsUpdate(
        mode=mode,
        seq_number=seq_number,
        replacements=reps,
        certification_path=tuple(certification_path),
        authorising_cell=TrustAnchorCell(role, "ds"),
        apply_time_based_cpv=apply_time_based_cpv,
        floor_seq_number=floor_seq_number,
        top_up_floor_seq_number=top_up_floor_seq_number,
        execution_time=execution_time,
    )


@dataclass(frozen=True, slots=True)
class ReplacementOutcome:
    """What the device did with one replacement: status (0 success, 5 bad certificate,
    25 trust anchor not found, 127 other) and the subject unique ID (EUI, 8 bytes) and subject
    key identifier of the anchor before and after."""

    cell: TrustAnchorCell
    status: int
    existing_subject: bytes
    existing_key_id: bytes
    replacing_subject: bytes
    replacing_key_id: bytes

    def encode(self) -> bytes:
        return der(
            TAG_SEQUENCE,
            self.cell.encode()
            + der(_TAG_ENUMERATED, der_integer(self.status)[2:])
            + der_octets(self.existing_subject)
            + der_octets(self.existing_key_id)
            + der_octets(self.replacing_subject)
            + der_octets(self.replacing_key_id),
        )


def cs02b_execution_outcome(
    update: CredentialsUpdate, outcomes: Sequence[ReplacementOutcome]
) -> bytes:
    """The DER execution outcome of a CS02b: authorising seq number, mode, the new floor seq
    numbers of the role whose credentials changed, one outcome per replacement."""
    changes = b""
    roles = sorted({o.cell.role for o in outcomes if o.status == STATUS_SUCCESS})
    for role in roles:
        body = der_integer(role) + der_integer(update.floor_seq_number or 0)
        if update.top_up_floor_seq_number is not None:
            body += der(
                TAG_SEQUENCE,
                der(TAG_SEQUENCE, der_integer(0) + der_integer(update.top_up_floor_seq_number)),
            )
        changes += der(TAG_SEQUENCE, body)
    return der(
        TAG_SEQUENCE,
        der_integer(update.seq_number)
        + der_integer(update.mode)
        + der(TAG_SEQUENCE, changes)
        + der(TAG_SEQUENCE, b"".join(o.encode() for o in outcomes)),
    )


def _lenient_tlv(r: Reader, tag: int, what: str) -> Reader:
    return read_tlv_width(r, tag, what)[0]


def read_cs02b_outcome(outcome: bytes) -> tuple[int, int, tuple[ReplacementOutcome, ...]]:
    """(authorising seq number, mode, replacement outcomes) of a CS02b execution outcome
    (its lengths may be non-minimal: the RTDS CS02b responses use 0x82 00 C4)."""
    r = Reader(outcome)
    s = _lenient_tlv(r, TAG_SEQUENCE, "execution outcome")
    r.expect_end("execution outcome")
    seq = read_integer(s, "authorising remote party seq number")
    mode = read_integer(s, "credentials replacement mode")
    _lenient_tlv(s, TAG_SEQUENCE, "remote party seq number changes")
    outs = _lenient_tlv(s, TAG_SEQUENCE, "replacement outcomes")
    s.expect_end("execution outcome")
    result: list[ReplacementOutcome] = []
    while not outs.at_end():
        o = _lenient_tlv(outs, TAG_SEQUENCE, "replacement outcome")
        cell = _read_cell(o, "affected trust anchor cell")
        status = _implicit_int(o, _TAG_ENUMERATED, "status code")
        names = ("existing SUI", "existing SKI", "replacing SUI", "replacing SKI")
        vals = [read_octets(o, name) for name in names]
        o.expect_end("replacement outcome")
        result.append(ReplacementOutcome(cell, status, *vals))
    return seq, mode, tuple(result)


_COMMAND_CODES: tuple[tuple[int, str], ...] = (
    (MessageCode.CS02G, "CS02g"),
    *((CS02B_MESSAGE_CODE_BASE + mode, "CS02b") for mode in range(10)),
)
"""CS02g, and 0x0100 + CredentialsReplacementMode (modes 0-9) for CS02b, carry a command and
its response; their future-dated alerts have codes of their own."""

USE_CASES = (
    UseCase(MessageCode.CS02B_ALERT, "CS02b", alert=UpdateSecurityCredentialsAlert.decode),
    UseCase(MessageCode.CS02G_ALERT, "CS02g", alert=UpdateSecurityCredentialsAlert.decode),
    *(
        UseCase(
            code,
            name,
            command=UpdateSecurityCredentialsCommand.decode,
            response=UpdateSecurityCredentialsResponse.decode,
        )
        for code, name in _COMMAND_CODES
    ),
)
