"""Signed HTTP requests: how a DCC user authenticates a request that is not DUIS (the AltHANCo
intake of upgrade outcomes), with the key and certificate it signs its DUIS requests with.

The user signs, with ECDSA P-256 / SHA-256, the UTF-8 bytes of::

    ALTHAN-ECDSA-P256-SHA256
    <METHOD>
    <path>
    <user EUI-64, hyphenated, upper case>
    <submission ID>
    <media type, lower case, without parameters>
    <SHA-256 of the body, lower-case hex>

(lines joined by ``\\n``), and sends the request with the headers ``X-Althan-User``,
``X-Althan-Submission`` and ``X-Althan-Signature`` (base64 of the raw 64-byte r‖s, as in DUIS
signatures) and its ``Content-Type``. The DCC verifies the signature with the certificate the
user registered (the one it trusts for that user's DUIS requests): the request is that user's,
unchanged. The submission ID (the user's own, unique per user) makes a replayed request a
repeat of the same submission, which the receiver answers without storing it twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TypedDict, Unpack

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from althan.model import EUI64

SCHEME = "ALTHAN-ECDSA-P256-SHA256"
USER_HEADER = "X-Althan-User"
SUBMISSION_HEADER = "X-Althan-Submission"
SIGNATURE_HEADER = "X-Althan-Signature"


class BadSignature(ValueError):
    """The signature is missing, malformed, or not the user's over this request."""


def media_type(content_type: str) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return content_type.split(";", 1)[0].strip().lower()


def string_to_sign(
    method: str, path: str, user: EUI64, submission: str, content_type: str, body: bytes
) -> bytes:
    return "\n".join(
        (
            SCHEME,
            method.upper(),
            path,
            str(user),
            submission,
            media_type(content_type),
            hashlib.sha256(body).hexdigest(),
        )
    ).encode()


class SignedParts(TypedDict):
    """What the signature covers: the arguments of `string_to_sign`."""

    method: str
    path: str
    user: EUI64
    submission: str
    content_type: str
    body: bytes


def sign_request(key: ec.EllipticCurvePrivateKey, **parts: Unpack[SignedParts]) -> dict[str, str]:
    """The headers that authenticate the request as `user`'s."""
    der = key.sign(string_to_sign(**parts), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return {
        USER_HEADER: str(parts["user"]),
        SUBMISSION_HEADER: parts["submission"],
        SIGNATURE_HEADER: base64.b64encode(raw).decode(),
        "Content-Type": parts["content_type"],
    }


def verify_request(
    public_key: ec.EllipticCurvePublicKey, signature: str, **parts: Unpack[SignedParts]
) -> None:
    """BadSignature unless `signature` is the holder of `public_key`'s over this request."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature(f"{SIGNATURE_HEADER} is not base64") from None
    if len(raw) != 64:
        raise BadSignature(f"{SIGNATURE_HEADER} has {len(raw)} bytes, expected 64 (r||s)")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public_key.verify(der, string_to_sign(**parts), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BadSignature(f"the signature is not {parts['user']}'s over this request") from None
