"""The images a Comms Hub serves: the OTA file parsed (once per SHA-256), the hub's server for
it, and how serving it to a device ends."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from althan.zigbee.cluster import OtaImageInfo, OtaServer
from althan.zigbee.ota import OtaError, parse_ota

__all__ = ["HubImage", "OtaImages", "ParsedImage", "TransferResult"]


class TransferResult(enum.Enum):
    """Outcome of one image transfer to one device (carried by the CCS08 alert)."""

    SUCCESS = "success"  # 0x8F8A
    IMAGE_DISCARDED = "image-discarded"  # hash check failed: 0x8F89
    HARDWARE_VERSION_MISMATCH = "hardware-version-mismatch"  # 0x8F89
    FILE_TRANSFER_FAILURE = "file-transfer-failure"  # 0x8F89


@dataclass(frozen=True, slots=True)
class ParsedImage:
    """An image as the CH reads it: its OTA header, or why the bytes are not an OTA file."""

    sha256: str
    info: OtaImageInfo | None  # None when the bytes are not an OTA file
    error: str = ""


class OtaImages:
    """Images parsed once per SHA-256, shared by the Comms Hubs of a region (the bytes are
    held once, however many hubs serve them)."""

    __slots__ = ("_by_sha",)

    def __init__(self) -> None:
        self._by_sha: dict[str, ParsedImage] = {}

    def parse(self, sha256: str, image: bytes) -> ParsedImage:
        got = self._by_sha.get(sha256)
        if got is None:
            got = _parse(sha256, image)
            self._by_sha[sha256] = got
        return got


def _parse(sha256: str, image: bytes) -> ParsedImage:
    try:
        h = parse_ota(image).header
    except OtaError as e:
        return ParsedImage(sha256, None, str(e))
    info = OtaImageInfo(
        h.manufacturer_code,
        h.image_type,
        h.file_version,
        image,
        h.minimum_hardware_version,
        h.maximum_hardware_version,
    )
    return ParsedImage(sha256, info)


@dataclass(frozen=True, slots=True)
class HubImage:
    """One OTA file delivered to one CH, and the CH's OTA server for it."""

    sha256: str
    info: OtaImageInfo
    server: OtaServer
