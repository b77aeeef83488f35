"""A byte form of the SM WAN messages, for the DSP's outbox and for HTTP between processes.

JSON with base64 for bytes and hyphenated EUIs. A `FirmwareDistribution` may be written
without its image (``image_ref``): the image is stored once, by SHA-256, and put back when the
message is dispatched.
"""

from __future__ import annotations

import base64
import json
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, fields
from typing import Any

from althan.model import EUI64
from althan.smwan.messages import (
    DeliveryOutcome,
    FirmwareDistribution,
    FirmwareTarget,
    SmwanMessage,
)


class SmwanCodecError(ValueError):
    pass


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def _same(v: Any) -> Any:
    return v


_Convert = tuple[Callable[[Any], Any], Callable[[Any], Any]]
"""A field's (to JSON, from JSON)."""

_BY_TYPE: dict[object, _Convert] = {
    str: (_same, _same),
    bytes: (_b64, _unb64),
    EUI64: (str, EUI64.parse),
    DeliveryOutcome: (lambda o: o.value, DeliveryOutcome),
    tuple[EUI64, ...]: (
        lambda xs: [str(x) for x in xs],
        lambda xs: tuple(EUI64.parse(x) for x in xs),
    ),
    tuple[FirmwareTarget, ...]: (
        lambda ts: [[str(t.chf), str(t.device)] for t in ts],
        lambda ts: tuple(FirmwareTarget(EUI64.parse(c), EUI64.parse(v)) for c, v in ts),
    ),
}


def _layout(cls: type) -> tuple[tuple[str, _Convert, object], ...]:
    """Each field of a message type: name, converters, default (MISSING when required)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _BY_TYPE[hints[f.name]], f.default) for f in fields(cls))


_LAYOUTS = {cls.__name__: (cls, _layout(cls)) for cls in typing.get_args(SmwanMessage)}
"""Message type name -> (class, field layout): the JSON form follows the dataclass fields."""


def encode(msg: SmwanMessage, *, image_ref: bool = False) -> bytes:
    name = type(msg).__name__
    if name not in _LAYOUTS:  # pragma: no cover - typing guards this
        raise SmwanCodecError(f"not an SM WAN message: {name}")
    d: dict[str, Any] = {"type": name}
    for field, (to_json, _), _default in _LAYOUTS[name][1]:
        if not (image_ref and field == "image"):
            d[field] = to_json(getattr(msg, field))
    return json.dumps(d, separators=(",", ":"), sort_keys=True).encode()


def encode_distribution_ref(
    msg_id: str,
    distribution_id: str,
    image_sha256: str,
    targets: Iterable[tuple[str, str]],
) -> bytes:
    """``encode(FirmwareDistribution(...), image_ref=True)``, byte for byte, from the targets'
    (CHF, device) hyphenated EUI text: the bulk path (an 11.4's 50,000 targets) builds no
    message, no FirmwareTarget and no EUI64, and never touches the image (it is referenced by
    its SHA-256 and put back by `decode`)."""
    d = {
        "type": FirmwareDistribution.__name__,
        "msg_id": msg_id,
        "distribution_id": distribution_id,
        "image_sha256": image_sha256,
        "targets": list(targets),  # tuples are written as JSON arrays
    }
    return json.dumps(d, separators=(",", ":"), sort_keys=True).encode()


ImageLookup = Callable[[str], bytes]
"""SHA-256 -> image bytes (the DSP's image store)."""


def decode(data: bytes, *, image: ImageLookup | None = None) -> SmwanMessage:
    """Parse `data`; an image-less FirmwareDistribution gets its bytes from `image(sha256)`."""
    try:
        d = json.loads(data)
        t = d["type"]
        if t not in _LAYOUTS:
            raise SmwanCodecError(f"unknown SM WAN message type {t!r}")
        cls, layout = _LAYOUTS[t]
        kw: dict[str, Any] = {}
        for field, (_, from_json), default in layout:
            if field in d:
                kw[field] = from_json(d[field])
            elif cls is FirmwareDistribution and field == "image":
                if image is None:
                    raise SmwanCodecError("FirmwareDistribution without its image")
                kw[field] = image(d["image_sha256"])
            elif default is not MISSING:
                kw[field] = default
            else:
                raise KeyError(field)
        msg: SmwanMessage = cls(**kw)
        return msg
    except SmwanCodecError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise SmwanCodecError(f"malformed SM WAN message: {exc}") from exc
