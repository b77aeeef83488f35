"""A byte form of the SM WAN messages, for the DSP's outbox and for HTTP between processes.

JSON with base64 for bytes and hyphenated EUIs. A `FirmwareDistribution` may be written
without its image (``image_ref``): the image is stored once, by SHA-256, and put back when the
message is dispatched.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from althan.model import EUI64
from althan.smwan.messages import (
    CSPFirmwareDeliveryStatus,
    DeliveryOutcome,
    FirmwareDistribution,
    FirmwareTarget,
    GbcsAlert,
    GbcsCommand,
    GbcsResponse,
    HanJoinNotice,
    SmwanMessage,
)


class SmwanCodecError(ValueError):
    pass


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def encode(msg: SmwanMessage, *, image_ref: bool = False) -> bytes:
    d: dict[str, Any]
    if isinstance(msg, FirmwareDistribution):
        d = {
            "type": "FirmwareDistribution",
            "msg_id": msg.msg_id,
            "distribution_id": msg.distribution_id,
            "image_sha256": msg.image_sha256,
            "targets": [[str(t.chf), str(t.device)] for t in msg.targets],
        }
        if not image_ref:
            d["image"] = _b64(msg.image)
    elif isinstance(msg, CSPFirmwareDeliveryStatus):
        d = {
            "type": "CSPFirmwareDeliveryStatus",
            "msg_id": msg.msg_id,
            "distribution_id": msg.distribution_id,
            "chf": str(msg.chf),
            "devices": [str(x) for x in msg.devices],
            "outcome": msg.outcome.value,
            "reason": msg.reason,
        }
    elif isinstance(msg, GbcsCommand | GbcsAlert | HanJoinNotice):
        d = {
            "type": type(msg).__name__,
            "msg_id": msg.msg_id,
            "chf": str(msg.chf),
            "device": str(msg.device),
        }
        if not isinstance(msg, HanJoinNotice):
            d["payload"] = _b64(msg.payload)
    elif isinstance(msg, GbcsResponse):
        d = {
            "type": "GbcsResponse",
            "msg_id": msg.msg_id,
            "command_msg_id": msg.command_msg_id,
            "chf": str(msg.chf),
            "device": str(msg.device),
            "payload": _b64(msg.payload),
        }
    else:  # pragma: no cover - typing guards this
        raise SmwanCodecError(f"not an SM WAN message: {type(msg).__name__}")
    return json.dumps(d, separators=(",", ":"), sort_keys=True).encode()


ImageLookup = Callable[[str], bytes]
"""SHA-256 -> image bytes (the DSP's image store)."""


def decode(data: bytes, *, image: ImageLookup | None = None) -> SmwanMessage:
    """Parse `data`; an image-less FirmwareDistribution gets its bytes from `image(sha256)`."""
    try:
        d = json.loads(data)
        t = d["type"]
        if t == "FirmwareDistribution":
            if "image" in d:
                img = base64.b64decode(d["image"])
            elif image is not None:
                img = image(d["image_sha256"])
            else:
                raise SmwanCodecError("FirmwareDistribution without its image")
            return FirmwareDistribution(
                msg_id=d["msg_id"],
                distribution_id=d["distribution_id"],
                image_sha256=d["image_sha256"],
                image=img,
                targets=tuple(
                    FirmwareTarget(EUI64.parse(c), EUI64.parse(v)) for c, v in d["targets"]
                ),
            )
        if t == "CSPFirmwareDeliveryStatus":
            return CSPFirmwareDeliveryStatus(
                msg_id=d["msg_id"],
                distribution_id=d["distribution_id"],
                chf=EUI64.parse(d["chf"]),
                devices=tuple(EUI64.parse(x) for x in d["devices"]),
                outcome=DeliveryOutcome(d["outcome"]),
                reason=d.get("reason", ""),
            )
        chf, dev = EUI64.parse(d["chf"]), EUI64.parse(d["device"])
        if t == "HanJoinNotice":
            return HanJoinNotice(msg_id=d["msg_id"], chf=chf, device=dev)
        payload = base64.b64decode(d["payload"], validate=True)
        if t == "GbcsCommand":
            return GbcsCommand(msg_id=d["msg_id"], chf=chf, device=dev, payload=payload)
        if t == "GbcsAlert":
            return GbcsAlert(msg_id=d["msg_id"], chf=chf, device=dev, payload=payload)
        if t == "GbcsResponse":
            return GbcsResponse(
                msg_id=d["msg_id"],
                command_msg_id=d["command_msg_id"],
                chf=chf,
                device=dev,
                payload=payload,
            )
        raise SmwanCodecError(f"unknown SM WAN message type {t!r}")
    except SmwanCodecError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise SmwanCodecError(f"malformed SM WAN message: {exc}") from exc
