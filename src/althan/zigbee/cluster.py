"""ZigBee OTA Upgrade cluster (0x0019): its commands, pacing arithmetic and sans-IO server.

The commands are typed values (not ZCL frames); a server and a client
(:mod:`althan.zigbee.client`) exchange them through whatever carries them (a test, the HAN
model). Times are milliseconds handed in by the caller: nothing here reads a clock.

Behaviour modelled after ZCL rev. 7 §11 (OTA Upgrade):

* Image Notify (server → client) → Query Next Image Request (client) → Query Next Image
  Response (server: SUCCESS with the image size, or NO_IMAGE_AVAILABLE when the image is not
  for this manufacturer / image type / hardware version or is not newer).
* Image Block Request (client, ``file_offset`` + ``max_data_size``) → Image Block Response:
  SUCCESS with data, or WAIT_FOR_DATA (``request_time`` and ``minimum_block_period``) when the
  server paces the client (MinimumBlockPeriod) or has not got the image yet, or ABORT.
  Downloads are resumable: after a reboot the client asks again from the offset it stored.
* Upgrade End Request (client: SUCCESS, or INVALID_IMAGE when its hash check failed) →
  Upgrade End Response with an ``upgrade_time``: 0 = now, 0xFFFFFFFF = wait for a later
  release (the server sends another Upgrade End Response when it releases the activation).

The HAN model moves thousands of blocks per device in aggregate: :func:`block_interval`,
:func:`blocks_between` and :func:`offset_after` are the pacing arithmetic the block-level
machines obey, so both levels agree.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = [
    "UPGRADE_TIME_NOW",
    "UPGRADE_TIME_WAIT",
    "ImageBlockRequest",
    "ImageBlockResponse",
    "ImageNotify",
    "OtaClusterError",
    "OtaImageInfo",
    "OtaServer",
    "OtaStatus",
    "QueryNextImageRequest",
    "QueryNextImageResponse",
    "UpgradeEndRequest",
    "UpgradeEndResponse",
    "block_interval",
    "blocks_between",
    "offset_after",
]

UPGRADE_TIME_NOW = 0
UPGRADE_TIME_WAIT = 0xFFFFFFFF


class OtaStatus(enum.IntEnum):
    """ZCL status codes used by the OTA cluster."""

    SUCCESS = 0x00
    NOT_AUTHORIZED = 0x7E
    MALFORMED_COMMAND = 0x80
    ABORT = 0x95
    INVALID_IMAGE = 0x96
    WAIT_FOR_DATA = 0x97
    NO_IMAGE_AVAILABLE = 0x98
    REQUIRE_MORE_IMAGE = 0x99


class OtaClusterError(ValueError):
    """A command that does not fit the state machine (wrong state, wrong image, bad offset)."""


@dataclass(frozen=True, slots=True)
class OtaImageInfo:
    """What the server knows of the image it serves (the OTA file bytes and its header)."""

    manufacturer_code: int
    image_type: int
    file_version: int
    data: bytes  # the whole OTA file
    minimum_hardware_version: int | None = None
    maximum_hardware_version: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def fits(self, hardware_version: int | None) -> bool:
        """The image's hardware range admits `hardware_version` (None: not known → admitted)."""
        if hardware_version is None:
            return True
        lo, hi = self.minimum_hardware_version, self.maximum_hardware_version
        return (lo is None or hardware_version >= lo) and (hi is None or hardware_version <= hi)


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class ImageNotify:
    payload_type: int  # 0x03: jitter + manufacturer + image type + file version
    query_jitter: int
    manufacturer_code: int
    image_type: int
    file_version: int


@dataclass(frozen=True, slots=True)
class QueryNextImageRequest:
    manufacturer_code: int
    image_type: int
    current_file_version: int
    hardware_version: int | None = None


@dataclass(frozen=True, slots=True)
class QueryNextImageResponse:
    status: OtaStatus
    manufacturer_code: int = 0
    image_type: int = 0
    file_version: int = 0
    image_size: int = 0


@dataclass(frozen=True, slots=True)
class ImageBlockRequest:
    manufacturer_code: int
    image_type: int
    file_version: int
    file_offset: int  # the first byte it wants (what it has so far)
    max_data_size: int


@dataclass(frozen=True, slots=True)
class ImageBlockResponse:
    status: OtaStatus
    manufacturer_code: int = 0
    image_type: int = 0
    file_version: int = 0
    file_offset: int = 0
    data: bytes = b""
    # WAIT_FOR_DATA fields (ms; current/request times relative to the caller's clock)
    current_time: int = 0
    request_time: int = 0
    minimum_block_period: int = 0


@dataclass(frozen=True, slots=True)
class UpgradeEndRequest:
    status: OtaStatus
    manufacturer_code: int
    image_type: int
    file_version: int


@dataclass(frozen=True, slots=True)
class UpgradeEndResponse:
    manufacturer_code: int
    image_type: int
    file_version: int
    current_time: int
    upgrade_time: int  # 0 = now, 0xFFFFFFFF = wait for a later Upgrade End Response


# --------------------------------------------------------------------------- pacing arithmetic


def block_interval(
    *, min_block_period_s: float, airtime_s: float, poll_period_s: float = 0.0
) -> float:
    """Seconds between two successful blocks for one client.

    A block cannot come faster than its airtime, than the server's MinimumBlockPeriod, nor
    (sleepy end device) than the client polls its parent.
    """
    return max(min_block_period_s, airtime_s, poll_period_s)


def blocks_between(offset: int, size: int, block_size: int) -> int:
    """Image Block Requests needed to move from `offset` to `size`."""
    if block_size <= 0:
        raise OtaClusterError(f"block size must be > 0, got {block_size}")
    return max(0, math.ceil((size - offset) / block_size))


def offset_after(
    start_offset: int, size: int, block_size: int, elapsed_s: float, interval_s: float
) -> int:
    """The client's stored offset `elapsed_s` after it (re)started at `start_offset`."""
    if interval_s <= 0:
        return size
    done = int(elapsed_s / interval_s + 1e-9)
    return min(size, start_offset + done * block_size)


# --------------------------------------------------------------------------- server


@dataclass
class _ClientRecord:
    last_block_ms: int | None = None
    ended: bool = False


class OtaServer:
    """An OTA server (the Comms Hub) serving one image to any number of clients.

    `min_block_period_ms` paces each client (WAIT_FOR_DATA when it asks too soon);
    `available` False (image not yet on the server) answers WAIT_FOR_DATA too.
    `hold_activation` True answers Upgrade End with upgrade_time 0xFFFFFFFF ("wait");
    :meth:`release` then gives the Upgrade End Response that activates.
    """

    def __init__(
        self,
        image: OtaImageInfo,
        *,
        min_block_period_ms: int = 0,
        max_block_size: int = 64,
        hold_activation: bool = False,
        available: bool = True,
    ) -> None:
        if max_block_size <= 0:
            raise OtaClusterError(f"max block size must be > 0, got {max_block_size}")
        self.image = image
        self.min_block_period_ms = min_block_period_ms
        self.max_block_size = max_block_size
        self.hold_activation = hold_activation
        self.available = available
        self._clients: dict[object, _ClientRecord] = {}
        self.blocks_served = 0
        self.bytes_served = 0

    def image_notify(self, query_jitter: int = 100) -> ImageNotify:
        i = self.image
        return ImageNotify(0x03, query_jitter, i.manufacturer_code, i.image_type, i.file_version)

    def _matches(self, manufacturer_code: int, image_type: int, file_version: int) -> bool:
        i = self.image
        return (manufacturer_code, image_type, file_version) == (
            i.manufacturer_code,
            i.image_type,
            i.file_version,
        )

    def handle_query(self, client: object, req: QueryNextImageRequest) -> QueryNextImageResponse:
        i = self.image
        if (
            req.manufacturer_code != i.manufacturer_code
            or req.image_type != i.image_type
            or req.current_file_version == i.file_version
            or not i.fits(req.hardware_version)
        ):
            return QueryNextImageResponse(OtaStatus.NO_IMAGE_AVAILABLE)
        self._clients.setdefault(client, _ClientRecord())
        return QueryNextImageResponse(
            OtaStatus.SUCCESS, i.manufacturer_code, i.image_type, i.file_version, i.size
        )

    def handle_block(
        self, client: object, req: ImageBlockRequest, now_ms: int
    ) -> ImageBlockResponse:
        i = self.image
        if not self._matches(req.manufacturer_code, req.image_type, req.file_version):
            return ImageBlockResponse(OtaStatus.NO_IMAGE_AVAILABLE)
        if not 0 <= req.file_offset < i.size or req.max_data_size <= 0:
            return ImageBlockResponse(OtaStatus.MALFORMED_COMMAND)
        rec = self._clients.setdefault(client, _ClientRecord())
        if not self.available:
            return ImageBlockResponse(
                OtaStatus.WAIT_FOR_DATA,
                current_time=now_ms,
                request_time=now_ms + max(self.min_block_period_ms, 1000),
                minimum_block_period=self.min_block_period_ms,
            )
        if rec.last_block_ms is not None and now_ms < rec.last_block_ms + self.min_block_period_ms:
            return ImageBlockResponse(
                OtaStatus.WAIT_FOR_DATA,
                current_time=now_ms,
                request_time=rec.last_block_ms + self.min_block_period_ms,
                minimum_block_period=self.min_block_period_ms,
            )
        n = min(req.max_data_size, self.max_block_size, i.size - req.file_offset)
        data = i.data[req.file_offset : req.file_offset + n]
        rec.last_block_ms = now_ms
        self.blocks_served += 1
        self.bytes_served += n
        return ImageBlockResponse(
            OtaStatus.SUCCESS,
            i.manufacturer_code,
            i.image_type,
            i.file_version,
            req.file_offset,
            data,
        )

    def handle_upgrade_end(
        self, client: object, req: UpgradeEndRequest, now_ms: int
    ) -> UpgradeEndResponse | None:
        """None for a failed download (the server sends only a default response then)."""
        if req.status != OtaStatus.SUCCESS:
            self._clients.pop(client, None)
            return None
        if not self._matches(req.manufacturer_code, req.image_type, req.file_version):
            raise OtaClusterError("Upgrade End Request for an image this server does not serve")
        self._clients.setdefault(client, _ClientRecord()).ended = True
        when = UPGRADE_TIME_WAIT if self.hold_activation else UPGRADE_TIME_NOW
        i = self.image
        return UpgradeEndResponse(
            i.manufacturer_code, i.image_type, i.file_version, now_ms // 1000, when
        )

    def release(self, client: object, now_ms: int, delay_s: int = 0) -> UpgradeEndResponse:
        """Release a held activation: upgrade_time = now + `delay_s` (UTC seconds)."""
        rec = self._clients.get(client)
        if rec is None or not rec.ended:
            raise OtaClusterError(f"no finished download to release for client {client!r}")
        i = self.image
        return UpgradeEndResponse(
            i.manufacturer_code,
            i.image_type,
            i.file_version,
            now_ms // 1000,
            now_ms // 1000 + delay_s,
        )
