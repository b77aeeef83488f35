"""GBCS message framing: the MAC header (General-Ciphering, 0xDD) and General-Signing (0xDF).

Layout (GBCS 7.2)::

    [DD 00 00 00 00 00 00  len  security-header(5)]         MAC header, only in the 0xDD form
    DF                                                       General-Signing tag
       09 cra-flag originator-counter(8)                     transaction ID
       08 business-originator-ID(8)  08 business-target-ID(8)
       date-time (00, or 0C + 12-byte DLMS date-time)
       len other-information (message code[, supplementary remote party ID[, its counter
                              [, supplementary originator counter | KA certificate]]])
       len content (the use-case APDU)
       [len signature]                                       absent only in pre-commands
    [MAC(12)]                                                only in the 0xDD form

Lengths are DER definite lengths. ``decode`` is strict: it re-encodes what it read and refuses
anything that would not come back byte-identical.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from althan.gbcs.codec import Reader, encode_length
from althan.gbcs.errors import GbcsError, GbcsFramingError, GbcsLengthError, GbcsTruncatedError
from althan.gbcs.usecases import decode_payload, use_case_name
from althan.gbcs.usecases.base import CraFlag
from althan.model import EUI64

GENERAL_CIPHERING = 0xDD
GENERAL_SIGNING = 0xDF
GENERAL_CIPHERING_FIELDS = bytes(6)
"""transaction-id, originator/recipient system titles, date-time, other-information and
key-info of the General-Ciphering APDU: all empty in GBCS."""
DEFAULT_SECURITY_HEADER = bytes([0x11, 0, 0, 0, 0])
"""Security control 0x11 (authenticated, suite 1) and a zero invocation counter."""
MAC_LENGTH = 12
SIGNATURE_LENGTH = 64


@dataclass(frozen=True, slots=True)
class OtherInformation:
    """The other-information field of the grouping header."""

    message_code: int
    supplementary_remote_party_id: EUI64 | None = None
    supplementary_remote_party_counter: int | None = None
    supplementary_originator_counter: int | None = None
    supplementary_remote_party_ka_certificate: bytes | None = None

    def encode(self) -> bytes:
        out = self.message_code.to_bytes(2, "big")
        if self.supplementary_remote_party_id is None:
            return out
        out += self.supplementary_remote_party_id.to_bytes()
        if self.supplementary_remote_party_counter is None:
            return out
        out += self.supplementary_remote_party_counter.to_bytes(8, "big")
        if self.supplementary_originator_counter is not None:
            out += self.supplementary_originator_counter.to_bytes(8, "big")
        elif self.supplementary_remote_party_ka_certificate is not None:
            out += self.supplementary_remote_party_ka_certificate
        return out


@dataclass(frozen=True, slots=True)
class GbcsMessage:
    """A decoded GBCS message. ``payload`` is a typed use-case object (see ``usecases``) or a
    RawPayload. ``mac`` is None in the 0xDF-only form; ``signature`` is None when the signature
    length is 0 (``signature_field`` False when even the length is absent, as in pre-commands).
    ``raw`` holds the bytes decoded (or built)."""

    cra_flag: CraFlag
    transaction_id: int
    originator: EUI64
    target: EUI64
    other_info: OtherInformation
    payload: Any
    date_time_raw: bytes | None = None
    signature: bytes | None = None
    signature_field: bool = True
    mac: bytes | None = None
    security_header: bytes | None = None
    raw: bytes = b""

    # -- convenience views
    @property
    def message_code(self) -> int:
        return self.other_info.message_code

    @property
    def use_case(self) -> str:
        return use_case_name(self.other_info.message_code)

    @property
    def originator_counter(self) -> int:
        return self.transaction_id

    @property
    def is_mac_form(self) -> bool:
        return self.security_header is not None

    @property
    def supplementary_remote_party(self) -> EUI64 | None:
        return self.other_info.supplementary_remote_party_id

    @property
    def content(self) -> bytes:
        """The use-case APDU bytes."""
        out: bytes = self.payload.encode()
        return out

    @property
    def date_time(self) -> datetime | None:
        """The grouping header date-time as a UTC datetime, if present and fully specified."""
        d = self.date_time_raw
        if d is None or len(d) != 12:
            return None
        year = int.from_bytes(d[0:2], "big")
        try:
            return datetime(year, d[2], d[3], d[5], d[6], d[7], tzinfo=UTC)
        except ValueError:
            return None

    def replace(self, **changes: Any) -> GbcsMessage:
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- encode


def encode_grouping(msg: GbcsMessage) -> bytes:
    """The General-Signing APDU up to and including the content (no signature field)."""
    raw_dt = msg.date_time_raw
    dt = b"\x00" if raw_dt is None else bytes([len(raw_dt)]) + raw_dt
    other = msg.other_info.encode()
    content = msg.content
    return (
        bytes([GENERAL_SIGNING, 9, int(msg.cra_flag)])
        + msg.transaction_id.to_bytes(8, "big")
        + b"\x08"
        + msg.originator.to_bytes()
        + b"\x08"
        + msg.target.to_bytes()
        + dt
        + encode_length(len(other))
        + other
        + encode_length(len(content))
        + content
    )


def signed_bytes(msg: GbcsMessage) -> bytes:
    """What the originator signs: the grouping header without its 0xDF tag, and the content."""
    return encode_grouping(msg)[1:]


def encode_signature_field(msg: GbcsMessage) -> bytes:
    if not msg.signature_field:
        return b""
    sig = msg.signature or b""
    return encode_length(len(sig)) + sig


def encode_signed_part(msg: GbcsMessage) -> bytes:
    """The General-Signing APDU with its signature field."""
    return encode_grouping(msg) + encode_signature_field(msg)


def mac_aad(msg: GbcsMessage) -> bytes:
    """The GMAC additional authenticated data: security header, a 0x00 byte, then the whole
    General-Signing APDU with its signature field (GBCS 6.2.3)."""
    sh = msg.security_header if msg.security_header is not None else DEFAULT_SECURITY_HEADER
    return sh + b"\x00" + encode_signed_part(msg)


def encode(msg: GbcsMessage) -> bytes:
    """Encode a message. A decoded message re-encodes byte-identical."""
    inner = encode_signed_part(msg)
    if msg.security_header is None:
        if msg.mac is not None:
            raise GbcsFramingError("a MAC needs the 0xDD form (set security_header)")
        return inner
    if len(msg.security_header) != 5:
        raise GbcsFramingError("security header must be 5 bytes")
    mac = msg.mac if msg.mac is not None else bytes(MAC_LENGTH)
    if len(mac) != MAC_LENGTH:
        raise GbcsFramingError(f"MAC must be {MAC_LENGTH} bytes, got {len(mac)}")
    body = msg.security_header + inner + mac
    return bytes([GENERAL_CIPHERING]) + GENERAL_CIPHERING_FIELDS + encode_length(len(body)) + body


# ---------------------------------------------------------------- decode


def _other_info(r: Reader) -> OtherInformation:
    start = r.pos
    n = r.remaining
    code = int.from_bytes(r.take(2, "message code"), "big")
    if n == 2:
        return OtherInformation(code)
    if n not in (10, 18, 26) and n <= 26:
        raise GbcsFramingError(f"other-information length {n} is not 2, 10, 18, 26 or more", start)
    srp = EUI64.from_bytes(r.take(8, "supplementary remote party ID"))
    if n == 10:
        return OtherInformation(code, srp)
    srp_ctr = int.from_bytes(r.take(8, "supplementary remote party counter"), "big")
    if n == 18:
        return OtherInformation(code, srp, srp_ctr)
    if n == 26:
        orig_ctr = int.from_bytes(r.take(8, "supplementary originator counter"), "big")
        return OtherInformation(code, srp, srp_ctr, orig_ctr)
    cert = r.take(r.remaining, "supplementary remote party KA certificate")
    return OtherInformation(code, srp, srp_ctr, None, cert)


def _decode_signing(r: Reader) -> dict[str, Any]:
    at = r.pos
    tag = r.byte("General-Signing tag")
    if tag != GENERAL_SIGNING:
        raise GbcsFramingError(f"expected General-Signing tag 0xDF, got 0x{tag:02X}", at)
    at = r.pos
    if (n := r.byte("transaction ID length")) != 9:
        raise GbcsFramingError(f"transaction ID length must be 9, got {n}", at)
    at = r.pos
    cra = r.byte("CRA flag")
    if cra not in (1, 2, 3):
        raise GbcsFramingError(f"CRA flag must be 1, 2 or 3, got {cra}", at)
    counter = int.from_bytes(r.take(8, "originator counter"), "big")
    ids = []
    for what in ("business originator ID", "business target ID"):
        at = r.pos
        if (n := r.byte(f"{what} length")) != 8:
            raise GbcsFramingError(f"{what} length must be 8, got {n}", at)
        ids.append(EUI64.from_bytes(r.take(8, what)))
    at = r.pos
    n = r.byte("date-time length")
    if n not in (0, 12):
        raise GbcsFramingError(f"date-time must be absent (0) or 12 bytes, got {n}", at)
    dt = r.take(12, "date-time") if n else None
    olen = r.length("other-information length")
    other = _other_info(r.sub(olen, "other-information"))
    clen = r.length("content length")
    cstart = r.pos
    content = r.take(clen, "content")
    payload = decode_payload(content, other.message_code, cra, frame=r.data, offset=cstart)
    sig: bytes | None = None
    sig_field = not r.at_end()
    if sig_field:
        at = r.pos
        slen = r.length("signature length")
        if slen not in (0, SIGNATURE_LENGTH):
            raise GbcsFramingError(f"signature length must be 0 or 64, got {slen}", at)
        sig = r.take(slen, "signature") if slen else None
    return {
        "cra_flag": CraFlag(cra),
        "transaction_id": counter,
        "originator": ids[0],
        "target": ids[1],
        "date_time_raw": dt,
        "other_info": other,
        "payload": payload,
        "signature": sig,
        "signature_field": sig_field,
    }


def decode(data: bytes) -> GbcsMessage:
    """Decode one GBCS message (0xDD MAC header form, or 0xDF General-Signing form)."""
    data = bytes(data)
    if not data:
        raise GbcsTruncatedError("empty input", 0)
    r = Reader(data)
    first = data[0]
    if first == GENERAL_CIPHERING:
        r.take(1, "General-Ciphering tag")
        at = r.pos
        if r.take(6, "General-Ciphering fields") != GENERAL_CIPHERING_FIELDS:
            raise GbcsFramingError(
                "General-Ciphering fields must be empty (GBT / key-info not supported)", at
            )
        blen = r.length("ciphered service length")
        at = r.pos
        if blen < 5 + MAC_LENGTH:
            raise GbcsLengthError(f"ciphered service length {blen} too short", at)
        if r.remaining != blen:
            raise GbcsLengthError(
                f"ciphered service length {blen} but {r.remaining} bytes follow", at
            )
        sh = r.take(5, "security header")
        if sh[0] != 0x11:
            raise GbcsFramingError(f"security control must be 0x11, got 0x{sh[0]:02X}", at)
        inner = Reader(data, r.pos, r.end - MAC_LENGTH)
        fields = _decode_signing(inner)
        mac = data[-MAC_LENGTH:]
        msg = GbcsMessage(**fields, mac=mac, security_header=sh, raw=data)
    elif first == GENERAL_SIGNING:
        fields = _decode_signing(r)
        msg = GbcsMessage(**fields, raw=data)
    else:
        raise GbcsFramingError(f"unknown frame tag 0x{first:02X} (expected 0xDD or 0xDF)", 0)
    try:
        again = encode(msg)
    except GbcsError:
        raise
    except (ValueError, OverflowError) as e:  # pragma: no cover - defensive
        raise GbcsFramingError(f"cannot re-encode: {e}", 0) from None
    if again != data:
        pos = next(
            (i for i, (a, b) in enumerate(zip(again, data, strict=False)) if a != b),
            min(len(again), len(data)),
        )
        raise GbcsFramingError("message is not in canonical form", pos)
    return msg
