"""How Parse & Correlate reads and shows the values of DUIS and GBCS fields, so that both sides
of a comparison come out in the same words: times in UTC ISO 8601, certificates by serial,
subject and digest, message codes by use case."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime

from cryptography import x509

from althan import gbcs
from althan.smki.zaz1 import cert_eui

__all__ = [
    "ABSENT",
    "b64",
    "describe_certificate",
    "dlms_time",
    "duis_datetime",
    "iso",
    "message_code_name",
]

ABSENT = "absent"


def b64(text: str | None) -> bytes | None:
    """Base64 text (whitespace ignored) as bytes, or None when absent or not base64."""
    if text is None:
        return None
    t = "".join(text.split())
    if not t:
        return None
    try:
        return base64.b64decode(t, validate=True)
    except (binascii.Error, ValueError):
        return None


def iso(when: datetime) -> str:
    """``2030-01-15T00:00:00Z`` (naive times are taken as UTC)."""
    u = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return (
        u.strftime("%Y-%m-%dT%H:%M:%S") + (f".{u.microsecond:06d}" if u.microsecond else "") + "Z"
    )


def duis_datetime(text: str | None) -> datetime | None:
    """An xs:dateTime of a DUIS body (``2030-01-15T00:00:00.00Z``) in UTC, or None."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def dlms_time(raw: bytes) -> datetime | None:
    """A 12-byte DLMS date-time (year, month, day, weekday, hour, minute, second, hundredths,
    deviation, clock status) as UTC, or None when not a fully specified time."""
    if len(raw) != 12:
        return None
    year = int.from_bytes(raw[0:2], "big")
    hundredths = raw[8] if raw[8] != 0xFF else 0
    try:
        return datetime(
            year, raw[2], raw[3], raw[5], raw[6], raw[7], hundredths * 10_000, tzinfo=UTC
        )
    except ValueError:
        return None


def describe_certificate(der: bytes | None) -> str:
    """A certificate as ``serial 4A07…, subject 90-B3-…, sha256 1a2b3c4d5e6f7a8b``; bytes that
    are not a certificate by their digest alone."""
    if der is None:
        return "not base64 (or empty)"
    digest = hashlib.sha256(der).hexdigest()[:16]
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return f"not a certificate, sha256 {digest}"
    eui = cert_eui(cert)
    subject = str(eui) if eui is not None else cert.subject.rfc4514_string() or "(device)"
    return f"serial {cert.serial_number:X}, subject {subject}, sha256 {digest}"


def message_code_name(code: int) -> str:
    """``CS02d (0x000B)``; a code althan does not type by its enum name, or bare."""
    name = gbcs.use_case_name(code)
    if name.startswith("0x"):
        try:
            name = gbcs.MessageCode(code).name
        except ValueError:
            return f"0x{code:04X}"
    return f"{name} (0x{code:04X})"
