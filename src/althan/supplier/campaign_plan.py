"""A rollout campaign's plan: which devices, in which waves, with which image and thresholds.

Everything here is checked before anything is stored or sent (`PlanError` says what is wrong,
with the line of the devices file): the devices file (one EUI-64 a line; blank lines and ``#``
comments ignored; a malformed or repeated EUI is an error naming both lines), the waves
(cumulative percentages of the device list, strictly increasing, ending at 100), the
thresholds, the sending window and the image (a ZigBee OTA upgrade file: its header's file
version is the 11.4's ``FirmwareVersion``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from althan.model import EUI64
from althan.zigbee.ota import OtaError, parse_ota

__all__ = [
    "MAX_DEVICES_PER_REQUEST",
    "ImageInfo",
    "PlanError",
    "Window",
    "chunks",
    "parse_devices",
    "parse_waves",
    "read_image",
    "wave_slices",
]

MAX_DEVICES_PER_REQUEST = 50_000
"""DUIS: at most 50,000 devices in one 11.4's DeviceIDList (E110403 beyond)."""

_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


class PlanError(ValueError):
    """The plan cannot be used as given; nothing was stored."""


def parse_devices(text: str, source: str = "devices file") -> list[EUI64]:
    """The EUI-64s of a devices file, in order; every problem is listed, with its line."""
    problems: list[str] = []
    seen: dict[EUI64, int] = {}
    out: list[EUI64] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip().strip(",")
        if not line:
            continue
        try:
            eui = EUI64.parse(line)
        except ValueError as exc:
            problems.append(f"line {n}: {line!r} is not an EUI-64 ({exc})")
            continue
        if eui in seen:
            problems.append(f"line {n}: {eui} repeats line {seen[eui]}")
            continue
        seen[eui] = n
        out.append(eui)
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise PlanError(f"{source}: " + "; ".join(problems[:10]) + more)
    if not out:
        raise PlanError(f"{source}: no devices")
    return out


def parse_waves(text: str) -> tuple[float, ...]:
    """``1,10,50,100``: cumulative percentages of the device list."""
    try:
        waves = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise PlanError(
            f"--waves {text!r}: comma-separated percentages, e.g. 1,10,50,100"
        ) from None
    if not waves or any(not 0 < p <= 100 for p in waves):
        raise PlanError(f"--waves {text!r}: each a percentage above 0 and at most 100")
    if any(b <= a for a, b in itertools.pairwise(waves)):
        raise PlanError(f"--waves {text!r}: cumulative, so strictly increasing")
    if waves[-1] != 100:
        raise PlanError(f"--waves {text!r}: the last wave is 100 (every device)")
    return waves


def wave_slices(count: int, waves: Sequence[float]) -> list[tuple[int, int]]:
    """The [start, end) positions of each wave in a list of `count` devices; a wave that
    would be empty (a small list) is dropped."""
    out: list[tuple[int, int]] = []
    start = 0
    for p in waves:
        end = min(count, max(1, math.ceil(count * p / 100)))
        if end > start:
            out.append((start, end))
            start = end
    return out


def chunks(items: Sequence[EUI64], size: int = MAX_DEVICES_PER_REQUEST) -> list[list[EUI64]]:
    """`items` split into 11.4 DeviceIDLists of at most `size`."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@dataclass(frozen=True, slots=True)
class Window:
    """Waves start only between `start` and `end` (UTC; `end` before `start`: overnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        m = _WINDOW.match(text.strip())
        if m is None:
            raise PlanError(f"--window {text!r}: HH:MM-HH:MM (UTC), e.g. 22:00-06:00")
        a, b = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
        if a == b:
            raise PlanError(f"--window {text!r}: start and end are the same")
        return cls(a, b)

    def open_at(self, when: datetime) -> bool:
        t = when.time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    manufacturer: str
    image_type: str
    version: str  # 8 hex digits, the 11.4's FirmwareVersion
    sha256: str


def read_image(data: bytes, source: str = "image") -> ImageInfo:
    """What an 11.4 needs to know of an OTA upgrade file."""
    try:
        img = parse_ota(data)
    except OtaError as exc:
        raise PlanError(f"{source}: not a ZigBee OTA upgrade file ({exc})") from None
    h = img.header
    return ImageInfo(h.manufacturer_hex, h.image_type_hex, h.file_version_hex, img.sha256)
