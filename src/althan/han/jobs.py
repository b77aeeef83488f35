"""OTA jobs: an image for a device of the HAN, queued at the Comms Hub until it can start.

A job starts with the real ZigBee exchange between the hub's OTA server and the device's OTA
client: Image Notify, Query Next Image Request, Query Next Image Response. A refusal becomes a
CCS08 failure (0x8F89) with the reason. Which queued job starts when is the strategy's
decision (:mod:`althan.han.strategy`).
"""

from __future__ import annotations

from dataclasses import dataclass

from althan.han.device import Device
from althan.han.image import HubImage, TransferResult

__all__ = ["Job", "JobQueue", "Refusal", "query_next_image"]


@dataclass(frozen=True, slots=True)
class Job:
    image: HubImage
    device: Device
    seq: int  # arrival order at the hub


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a device will not take an image (sent as a CCS08 failure)."""

    result: TransferResult
    reason: str
    version: int


class JobQueue:
    """The jobs waiting at one hub, in arrival order."""

    __slots__ = ("_seq", "pending")

    def __init__(self) -> None:
        self.pending: list[Job] = []
        self._seq = 0

    def add(self, image: HubImage, device: Device) -> None:
        self._seq += 1
        self.pending.append(Job(image, device, self._seq))

    def remove(self, job: Job) -> None:
        self.pending.remove(job)

    def holds_release(self) -> bool:
        """Jobs that will download before activations are released (a job for a device that
        waits to activate starts after that activation, so it does not hold the release)."""
        return any(not j.device.waiting_to_activate for j in self.pending)


def query_next_image(job: Job) -> Refusal | None:
    """Image Notify and Query Next Image for the job's device: None when its OTA client took
    the image (it is downloading now), else why not."""
    d, img = job.device, job.image
    client, info = d.client, img.info
    query = client.on_image_notify(img.server.image_notify())
    if query is not None:
        rsp = img.server.handle_query(d.eui, query)
        if client.on_query_response(rsp) is not None:
            return None
    s = d.spec
    if (s.manufacturer_code, s.image_type) == (
        info.manufacturer_code,
        info.image_type,
    ) and d.version != info.file_version:
        return Refusal(
            TransferResult.HARDWARE_VERSION_MISMATCH,
            "hardware version outside the image's range",
            info.file_version,
        )
    return Refusal(
        TransferResult.FILE_TRANSFER_FAILURE,
        "image not for this device (manufacturer, image type or version)",
        info.file_version,
    )
