"""ZigBee OTA Upgrade cluster (0x0019): the sans-IO client state machine (a device).

It talks to :class:`althan.zigbee.cluster.OtaServer` in the cluster's typed commands; times
are handed in by the caller.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from althan.zigbee.cluster import (
    UPGRADE_TIME_WAIT,
    ImageBlockRequest,
    ImageBlockResponse,
    ImageNotify,
    OtaClusterError,
    OtaStatus,
    QueryNextImageRequest,
    QueryNextImageResponse,
    UpgradeEndRequest,
    UpgradeEndResponse,
)

__all__ = ["ClientState", "OtaClient", "RetryAt"]


class ClientState(enum.Enum):
    IDLE = "idle"
    QUERYING = "querying"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    WAITING_TO_ACTIVATE = "waiting-to-activate"
    ACTIVATING = "activating"


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Client asks again at `at_ms` (after WAIT_FOR_DATA) with `request`."""

    at_ms: int
    request: ImageBlockRequest


class OtaClient:
    """An OTA client (a device): one state machine, two ways to move the blocks.

    * Block by block (:meth:`on_block_response`): the client keeps the bytes it received and,
      once the file is complete, checks the SHA-256 the caller supplied (the one the Comms Hub
      was given).
    * In aggregate (:meth:`on_blocks`, :meth:`on_last_block`): a simulated HAN moves the
      thousands of blocks of a download as a few segments whose duration follows the pacing
      arithmetic above. The client keeps only its offset, never the bytes: the blocks are the
      server's image by construction, so the check fails only when a fault corrupted a block
      (:meth:`corrupt`).

    Either way the offset survives a reboot, so a download resumes where it stopped, and the
    check ends in an Upgrade End Request: SUCCESS, or INVALID_IMAGE (download discarded).
    """

    __slots__ = (
        "_offset",
        "damaged",
        "expected_sha256",
        "file_version",
        "hardware_version",
        "image_size",
        "image_type",
        "manufacturer_code",
        "max_data_size",
        "pending_version",
        "received",
        "state",
        "target_version",
    )

    def __init__(
        self,
        *,
        manufacturer_code: int,
        image_type: int,
        file_version: int,
        hardware_version: int | None,
        max_data_size: int = 64,
        expected_sha256: str | None = None,
    ) -> None:
        self.manufacturer_code = manufacturer_code
        self.image_type = image_type
        self.file_version = file_version  # the version it runs
        self.hardware_version = hardware_version
        self.max_data_size = max_data_size  # bytes it asks for per Image Block Request
        self.expected_sha256 = expected_sha256  # checked block by block only
        self.state = ClientState.IDLE
        self.target_version: int | None = None  # the version it downloads
        self.image_size = 0
        self._offset = 0
        self.received: bytearray | None = None
        """The bytes received block by block (None until the first block: aggregate downloads
        never keep any)."""
        self.pending_version: int | None = None
        self.damaged = False
        """A block of this download (or, when idle, of the next) arrived corrupted."""

    @property
    def offset(self) -> int:
        return self._offset

    def on_image_notify(self, notify: ImageNotify) -> QueryNextImageRequest | None:
        if notify.manufacturer_code != self.manufacturer_code or notify.image_type != (
            self.image_type
        ):
            return None
        if self.state not in (ClientState.IDLE, ClientState.QUERYING):
            return None
        self.state = ClientState.QUERYING
        return QueryNextImageRequest(
            self.manufacturer_code, self.image_type, self.file_version, self.hardware_version
        )

    def on_query_response(self, rsp: QueryNextImageResponse) -> ImageBlockRequest | None:
        if self.state is not ClientState.QUERYING:
            raise OtaClusterError(f"Query Next Image Response in state {self.state.value}")
        if rsp.status != OtaStatus.SUCCESS:
            self.state = ClientState.IDLE
            return None
        if self.target_version != rsp.file_version or self.image_size != rsp.image_size:
            self._forget_download()  # a different image: start over
        self.target_version = rsp.file_version
        self.image_size = rsp.image_size
        self.state = ClientState.DOWNLOADING
        return self._next_request()

    def _next_request(self) -> ImageBlockRequest:
        assert self.target_version is not None
        return ImageBlockRequest(
            self.manufacturer_code,
            self.image_type,
            self.target_version,
            self.offset,
            self.max_data_size,
        )

    def _forget_download(self) -> None:
        self._offset = 0
        self.received = None

    def _downloading(self, what: str) -> None:
        if self.state is not ClientState.DOWNLOADING or self.target_version is None:
            raise OtaClusterError(f"{what} in state {self.state.value}")

    def on_block_response(
        self, rsp: ImageBlockResponse, now_ms: int
    ) -> ImageBlockRequest | RetryAt | UpgradeEndRequest | None:
        self._downloading("Image Block Response")
        if rsp.status == OtaStatus.WAIT_FOR_DATA:
            return RetryAt(max(rsp.request_time, now_ms), self._next_request())
        if rsp.status != OtaStatus.SUCCESS:
            self.state = ClientState.IDLE  # aborted; received prefix kept for a resume
            return None
        if rsp.file_offset != self.offset:
            raise OtaClusterError(
                f"block at offset {rsp.file_offset}, client expected offset {self.offset}"
            )
        if not rsp.data or self.offset + len(rsp.data) > self.image_size:
            raise OtaClusterError(
                f"block of {len(rsp.data)} bytes at offset {rsp.file_offset} overruns the"
                f" image size {self.image_size}"
            )
        if self.received is None:
            self.received = bytearray()
        self.received += rsp.data
        self._offset += len(rsp.data)
        if self.offset < self.image_size:
            return self._next_request()
        return self._verify()

    def on_blocks(self, offset: int) -> None:
        """Aggregate download: the blocks up to `offset` arrived."""
        self._downloading("blocks")
        if not self.offset <= offset <= self.image_size:
            raise OtaClusterError(
                f"blocks up to offset {offset}: client at {self.offset} of {self.image_size}"
            )
        self._offset = offset

    def on_last_block(self) -> UpgradeEndRequest:
        """Aggregate download: the rest of the image arrived; check it (Upgrade End Request)."""
        self._downloading("last block")
        self._offset = self.image_size
        return self._verify()

    def corrupt(self) -> None:
        """A fault: a block of this download (or, when idle, of the next) arrives corrupted."""
        self.damaged = True

    def _verify(self) -> UpgradeEndRequest:
        version = self.target_version
        assert version is not None
        self.state = ClientState.VERIFYING
        ok = not self.damaged and (
            self.received is None
            or self.expected_sha256 is None
            or hashlib.sha256(self.received).hexdigest() == self.expected_sha256
        )
        self.damaged = False
        if ok:
            self.state = ClientState.WAITING_TO_ACTIVATE
            self.pending_version = version
        else:
            self.state = ClientState.IDLE
            self._forget_download()
            self.target_version = None
        status = OtaStatus.SUCCESS if ok else OtaStatus.INVALID_IMAGE
        return UpgradeEndRequest(status, self.manufacturer_code, self.image_type, version)

    def on_upgrade_end_response(self, rsp: UpgradeEndResponse, now_s: int) -> int | None:
        """Seconds from now until activation, or None to keep waiting (0xFFFFFFFF)."""
        if self.state is not ClientState.WAITING_TO_ACTIVATE:
            raise OtaClusterError(f"Upgrade End Response in state {self.state.value}")
        if rsp.upgrade_time == UPGRADE_TIME_WAIT:
            return None
        self.state = ClientState.ACTIVATING
        return max(0, rsp.upgrade_time - rsp.current_time) if rsp.upgrade_time else 0

    def activated(self) -> None:
        """The new image runs: adopt its version, forget the download."""
        if self.state is not ClientState.ACTIVATING or self.pending_version is None:
            raise OtaClusterError(f"activation in state {self.state.value}")
        self.file_version = self.pending_version
        self.pending_version = None
        self.target_version = None
        self._forget_download()
        self.state = ClientState.IDLE

    def reboot(self) -> ImageBlockRequest | None:
        """Power cycle: a download in progress resumes from the stored offset."""
        if self.state is ClientState.DOWNLOADING:
            return self._next_request()
        if self.state is ClientState.QUERYING:
            self.state = ClientState.IDLE
        return None
