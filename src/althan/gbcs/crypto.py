"""GBCS cryptography: ECDSA P-256/SHA-256 signatures (64-byte raw r||s) and the GMAC of the
MAC header form, keyed by ECDH + the GBCS KDF (GBCS 4.3.3).

MAC key semantics: the key is derived from the static key-agreement (KA) keys of the two ends
of the message, the remote party (e.g. the Access Control Broker, a supplier) and the device.
ECDH is symmetric, so either end computes it: pass one end's KA *private* key and the other
end's KA *public* key, in either direction (remote-private + device-public, or
device-private + remote-public).

KDF (NIST SP 800-56A single-step, SHA-256, one round)::

    key = SHA-256(00000001 || Z || OtherInfo)[:16]
    OtherInfo = 60 85 74 06 08 03 00 || originator ID(8) || 09 || CRA flag || counter(8)
                || target ID(8)

GMAC: AES-128-GCM with no plaintext, IV = originator ID || 00000000 (the invocation counter
of the security header), AAD = security header || 00 || General-Signing APDU incl. its
signature field; the tag is truncated to 12 bytes.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from althan.gbcs.errors import GbcsCryptoError
from althan.gbcs.frame import (
    DEFAULT_SECURITY_HEADER,
    MAC_LENGTH,
    GbcsMessage,
    mac_aad,
    signed_bytes,
)

KDF_ALGORITHM_ID = bytes.fromhex("60857406080300")


def _check_p256(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> None:
    if not isinstance(key.curve, ec.SECP256R1):
        raise GbcsCryptoError(f"GBCS keys are P-256, got {key.curve.name}")


def sign_raw(data: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """ECDSA P-256/SHA-256 over ``data``, as 64 bytes r||s."""
    _check_p256(private_key)
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_raw(data: bytes, signature: bytes, public_key: ec.EllipticCurvePublicKey) -> bool:
    if len(signature) != 64:
        return False
    _check_p256(public_key)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if r == 0 or s == 0:
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def sign_message(msg: GbcsMessage, private_key: ec.EllipticCurvePrivateKey) -> GbcsMessage:
    """The message with its signature set (by the originator's DS key)."""
    return msg.replace(signature=sign_raw(signed_bytes(msg), private_key), signature_field=True)


def verify_signature(msg: GbcsMessage, public_key: ec.EllipticCurvePublicKey) -> bool:
    """True when ``msg`` carries a signature that the originator's DS ``public_key`` verifies."""
    if msg.signature is None:
        return False
    return verify_raw(signed_bytes(msg), msg.signature, public_key)


def derive_key(
    msg: GbcsMessage,
    private_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
) -> bytes:
    """The 16-byte AES key of one message instance (ECDH + GBCS KDF)."""
    _check_p256(private_key)
    _check_p256(public_key)
    try:
        z = private_key.exchange(ec.ECDH(), public_key)
    except ValueError as e:
        raise GbcsCryptoError(f"ECDH failed: {e}") from None
    other = (
        KDF_ALGORITHM_ID
        + msg.originator.to_bytes()
        + bytes([9, int(msg.cra_flag)])
        + msg.transaction_id.to_bytes(8, "big")
        + msg.target.to_bytes()
    )
    return hashlib.sha256(b"\x00\x00\x00\x01" + z + other).digest()[:16]


def compute_mac(
    msg: GbcsMessage,
    private_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
) -> bytes:
    """The 12-byte GMAC of ``msg`` (its signature field included, its own MAC excluded)."""
    key = derive_key(msg, private_key, public_key)
    sh = msg.security_header if msg.security_header is not None else DEFAULT_SECURITY_HEADER
    iv = msg.originator.to_bytes() + sh[1:5]
    return AESGCM(key).encrypt(iv, b"", mac_aad(msg))[:MAC_LENGTH]


def apply_mac(
    msg: GbcsMessage,
    private_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
) -> GbcsMessage:
    """The message in the 0xDD form with its MAC set."""
    if msg.security_header is None:
        msg = msg.replace(security_header=DEFAULT_SECURITY_HEADER)
    return msg.replace(mac=compute_mac(msg, private_key, public_key))


def verify_mac(
    msg: GbcsMessage,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
) -> bool:
    """True when the MAC of a 0xDD message checks. ``private_key``: the KA private key of one
    end (remote party or device); ``public_key``: the KA public key of the other end."""
    if msg.mac is None:
        return False
    return hmac.compare_digest(compute_mac(msg, private_key, public_key), msg.mac)
