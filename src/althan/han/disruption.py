"""Interval arithmetic for disruption accounting (unreachable time, lost periodic messages)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "HomeDisruption",
    "Interval",
    "count_ticks",
    "measure",
    "subtract",
    "union",
]

Interval = tuple[float, float]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, merged, non-empty intervals."""
    out: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def measure(intervals: Iterable[Interval]) -> float:
    return sum(b - a for a, b in union(intervals))


def subtract(base: Iterable[Interval], minus: Iterable[Interval]) -> list[Interval]:
    """Parts of `base` not covered by `minus` (both merged first)."""
    cut = union(minus)
    out: list[Interval] = []
    for a, b in union(base):
        cur = a
        for c, d in cut:
            if d <= cur or c >= b:
                continue
            if c > cur:
                out.append((cur, c))
            cur = max(cur, d)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    return out


def count_ticks(intervals: Iterable[Interval], period: float, phase: float) -> int:
    """How many instants ``phase + k * period`` fall in the half-open intervals [a, b)."""
    n = 0
    for a, b in union(intervals):
        n += max(0, math.ceil((b - phase) / period) - math.ceil((a - phase) / period))
    return n


@dataclass(frozen=True, slots=True)
class HomeDisruption:
    """What one home's HAN devices (GSME, IHD, PPMID) suffered from the rollout."""

    home_id: int
    gsme_unreachable_min: float
    ihd_unreachable_min: float
    ppmid_unreachable_min: float
    lost_unreachable: int  # periodic HAN messages due while the device was cut off
    lost_congestion: int  # periodic HAN messages due while OTA saturated the HAN
    ota_airtime_s: float  # CH HAN airtime used by OTA blocks
    outage_windows: int  # distinct windows in which some HAN device was cut off

    @property
    def unreachable_min(self) -> float:
        return self.gsme_unreachable_min + self.ihd_unreachable_min + self.ppmid_unreachable_min

    @property
    def lost_messages(self) -> int:
        return self.lost_unreachable + self.lost_congestion
