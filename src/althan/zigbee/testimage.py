"""Deterministic OTA test images, for the demo, the simulator, the CLI (``althan firmware
build``) and the tests: the payload is derived from the inputs only."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric import ec

from althan.zigbee.ota import (
    GBCS_SIGNATURE_LENGTH_BYTE,
    GBCS_TRAILER,
    Form,
    OtaBuildError,
    build_ota,
    gbcs_signed_bytes,
    new_ota_image,
    sign_gbcs,
)

_TEST_MARKER = b"ALTHAN-TEST-IMAGE\x00"


def _test_payload(seed: bytes, size: int) -> bytes:
    """Deterministic bytes: a marker (never a valid sub-element list) + SHA-256 stream."""
    out = bytearray(_TEST_MARKER[:size])
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def build_test_image(
    manufacturer_code: int,
    image_type: int,
    file_version: int,
    *,
    min_hw: int | None = None,
    max_hw: int | None = None,
    payload_size: int = 1024,
    header_string: str = "althan test image",
    form: Form = "gbcs",
    signing_key: ec.EllipticCurvePrivateKey | None = None,
    force_replace: bool | None = None,
) -> bytes:
    """A deterministic OTA test file (payload derived from the inputs only).

    gbcs form with ``signing_key``: a force-replace byte (default False) then 0x40 and a real
    ECDSA P-256/SHA-256 raw r||s signature over ``gbcs_signed_bytes``. ECDSA signing itself
    is randomised by ``cryptography``, so signed files differ per call; everything before the
    signature is deterministic. zigbee form: one 0x0000 upgrade-image element.
    """
    if payload_size < 0:
        raise OtaBuildError(f"payload_size must be >= 0, got {payload_size}", 0)
    if form == "zigbee" and (signing_key is not None or force_replace is not None):
        raise OtaBuildError("signing_key/force_replace apply to the gbcs form only", 0)
    seed = (
        struct.pack(
            "<HHIqqq",
            manufacturer_code & 0xFFFF,
            image_type & 0xFFFF,
            file_version & 0xFFFFFFFF,
            -1 if min_hw is None else min_hw,
            -1 if max_hw is None else max_hw,
            payload_size,
        )
        + header_string.encode("utf-8", "surrogateescape")
        + form.encode()
    )
    payload = bytearray(_test_payload(seed, payload_size))
    if (
        form == "gbcs"
        and signing_key is None
        and len(payload) >= GBCS_TRAILER
        and payload[-GBCS_TRAILER] == GBCS_SIGNATURE_LENGTH_BYTE
    ):
        # keep an unsigned body from looking like "... 0x40 <64 bytes>"
        payload[-GBCS_TRAILER] ^= 0x01
    signed = signing_key is not None
    image = new_ota_image(
        manufacturer_code=manufacturer_code,
        image_type=image_type,
        file_version=file_version,
        form=form,
        manufacturer_image=bytes(payload),
        header_string=header_string,
        min_hw=min_hw,
        max_hw=max_hw,
        force_replace=bool(force_replace) if signed else force_replace,
        gbcs_signature=bytes(64) if signed else None,  # signed below, once the rest is fixed
    )
    if signing_key is not None:
        image = replace(image, gbcs_signature=sign_gbcs(gbcs_signed_bytes(image), signing_key))
    return build_ota(image)
