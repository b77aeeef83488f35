"""What proves an OTA image genuine: the GBCS signature of the gbcs form (ECDSA P-256/SHA-256,
64-byte raw r||s, over every byte before the 0x40 length byte) and the ZigBee Image Integrity
Code (0x0003 sub-element: AES-MMO of the file up to it)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from althan.zigbee.ota.errors import OtaBuildError
from althan.zigbee.ota.image import GBCS_SIGNATURE_LENGTH, OtaImage, build_ota


def gbcs_signed_bytes(image: OtaImage) -> bytes:
    """The bytes a gbcs signature covers: the manufacturer image only (not the OTA header, not
    the force-replace byte), as in the DCC reference 11.1 template's image, which the ZAZ1 test
    supplier's DS key verifies over exactly those bytes."""
    return image.manufacturer_image


def sign_gbcs(message: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """64-byte raw r||s ECDSA P-256/SHA-256 signature of ``message``."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise OtaBuildError(f"gbcs signing key must be P-256, got {key.curve.name}", 0)
    der = key.sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_gbcs_signature(image: OtaImage, public_key: ec.EllipticCurvePublicKey) -> bool:
    """True when the image carries a gbcs signature that ``public_key`` verifies."""
    sig = image.gbcs_signature
    if image.form != "gbcs" or sig is None or len(sig) != GBCS_SIGNATURE_LENGTH:
        return False
    if not isinstance(public_key.curve, ec.SECP256R1):
        return False
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if r == 0 or s == 0:
        return False
    try:
        public_key.verify(
            encode_dss_signature(r, s), gbcs_signed_bytes(image), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        return False
    return True


def aes_mmo_hash(message: bytes) -> bytes:
    """ZigBee AES-MMO hash (Matyas-Meyer-Oseas over AES-128, ZigBee spec padding)."""
    bits = len(message) * 8
    if bits >= 1 << 32:
        raise OtaBuildError("AES-MMO input longer than 2^32 bits", 0)
    if bits < 1 << 16:
        pad = (14 - (len(message) + 1) % 16) % 16
        m = message + b"\x80" + bytes(pad) + bits.to_bytes(2, "big")
    else:
        pad = (10 - (len(message) + 1) % 16) % 16
        m = message + b"\x80" + bytes(pad) + bits.to_bytes(4, "big") + b"\x00\x00"
    h = bytes(16)
    for i in range(0, len(m), 16):
        block = m[i : i + 16]
        enc = Cipher(algorithms.AES(h), modes.ECB()).encryptor().update(block)
        h = (int.from_bytes(enc, "big") ^ int.from_bytes(block, "big")).to_bytes(16, "big")
    return h


def integrity_code_valid(image: OtaImage) -> bool | None:
    """Check the 0x0003 Image Integrity Code: AES-MMO of the file up to that element.

    ``None`` when the image has no integrity code. The code must be the last sub-element
    and 16 bytes long; some vendors use their own scheme and fail this check.
    """
    code = image.element(0x0003)
    if image.form != "zigbee" or code is None:
        return None
    if image.sub_elements[-1] is not code or code.length != 16:
        return False
    raw = build_ota(image, strict_form=False)
    return aes_mmo_hash(raw[: len(raw) - 22]) == code.value
