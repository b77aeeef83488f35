"""Assuring an OTA image for the CPL: what the file says about itself, and registering it.

`inspect` reads an OTA upgrade file into plain facts (header, hardware range, sub-elements or
GBCS signature) that a page or a command can show; `assure` registers an inspected image
Active in the CPL for its model and a hardware range, and keeps the image (once, by SHA-256)
only when the entry is allowed. Both refuse with `CplError` (`OtaRejected` for a file that is
not an OTA upgrade file), changing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from althan.dsp import cpl
from althan.model import EUI64
from althan.store import ImageStore
from althan.zigbee.ota import OtaError, parse_ota

MAX_IMAGE_BYTES = 10_240_000
"""The largest image an 11.4 may carry (DUIS FirmwareImage maxLength): larger is never assured."""


class OtaRejected(cpl.CplError):
    """The bytes are not a ZigBee OTA upgrade file (or too large for an 11.4)."""


@dataclass(frozen=True, slots=True)
class SubElementFacts:
    tag: int
    name: str
    length: int


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What an OTA upgrade file says about itself (hex strings as the CPL keeps them)."""

    sha256: str
    size: int
    manufacturer: str  # 4 hex digits: the ZigBee manufacturer code
    model: str  # 4 hex digits: the image type = model identifier
    firmware_version: str  # 8 hex digits
    header_string: str
    header_version: int
    header_length: int
    stack_version: int
    total_image_size: int
    hw_min: int | None
    hw_max: int | None
    form: str  # "zigbee" (sub-elements) | "gbcs" (signed manufacturer image)
    sub_elements: tuple[SubElementFacts, ...]
    gbcs_signature: str | None  # hex, gbcs form
    force_replace: bool | None
    wrapper: str | None
    image_hash: str


def inspect(data: bytes) -> ImageFacts:
    """The facts of an OTA upgrade file (`OtaRejected` when it is not one)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise OtaRejected(
            f"the file is {len(data):,} bytes; an 11.4 carries at most {MAX_IMAGE_BYTES:,}"
        )
    try:
        img = parse_ota(data)
    except OtaError as exc:
        raise OtaRejected(f"not a ZigBee OTA upgrade file: {exc}") from exc
    h = img.header
    return ImageFacts(
        sha256=img.sha256,
        size=len(data),
        manufacturer=h.manufacturer_hex,
        model=h.image_type_hex,
        firmware_version=h.file_version_hex,
        header_string=h.header_string,
        header_version=h.header_version,
        header_length=h.header_length,
        stack_version=h.stack_version,
        total_image_size=h.total_image_size,
        hw_min=h.minimum_hardware_version,
        hw_max=h.maximum_hardware_version,
        form=img.form,
        sub_elements=tuple(SubElementFacts(s.tag, s.name, s.length) for s in img.sub_elements),
        gbcs_signature=img.gbcs_signature.hex() if img.gbcs_signature else None,
        force_replace=img.force_replace,
        wrapper=img.wrapper,
        image_hash=img.image_hash,
    )


def assure(
    conn: Connection,
    images: ImageStore,
    data: bytes,
    *,
    by: EUI64,
    hw_min: int,
    hw_max: int,
    now: datetime,
) -> cpl.CplEntry:
    """Register `data` Active in the CPL for its own manufacturer and model and hardware
    `hw_min..hw_max`, which must lie within the range its header declares (if it declares
    one). Only AltHANCo may (`cpl.NotAuthorised`); an entry already there is refused."""
    facts = inspect(data)
    if hw_min > hw_max:
        raise cpl.CplError(f"hardware range {hw_min}..{hw_max} is empty")
    lo, hi = facts.hw_min, facts.hw_max
    if (lo is not None and hw_min < lo) or (hi is not None and hw_max > hi):
        raise cpl.CplError(
            f"hardware {hw_min}..{hw_max} is outside the range the image declares ({lo}..{hi})"
        )
    try:
        with conn.begin_nested():
            entry = cpl.add_entry(
                conn,
                by=by,
                manufacturer=facts.manufacturer,
                model=facts.model,
                hw_min=hw_min,
                hw_max=hw_max,
                firmware_version=facts.firmware_version,
                image_sha256=facts.sha256,
                image_hash=facts.image_hash,
                now=now,
            )
    except IntegrityError as exc:
        raise cpl.CplError(
            f"already in the CPL: {facts.manufacturer}/{facts.model} hardware "
            f"{hw_min}..{hw_max} version {facts.firmware_version}"
        ) from exc
    images.put(data)
    return entry
