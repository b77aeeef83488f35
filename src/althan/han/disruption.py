"""Disruption accounting: when OTA cut HAN devices off or saturated the HAN, and what that cost.

A hub's :class:`DisruptionLog` records each device's down time (rebooting, rejoining) and when
OTA held the HAN above the congestion threshold; :meth:`DisruptionLog.home` turns that into a
:class:`HomeDisruption`, with the interval arithmetic below (unreachable time, lost periodic
messages).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from althan.han.config import HanTiming
from althan.han.device import Device
from althan.han.topology import Bridge, HanDevice, Home
from althan.model import EUI64

__all__ = [
    "DisruptionLog",
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
    gsme_unreachable_min: float  # minutes it, or a bridge on its path, was down
    ihd_unreachable_min: float
    ppmid_unreachable_min: float  # 0 when the home has no PPMID
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


class DisruptionLog:
    """One hub's record of down time per device (by index) and of HAN congestion."""

    __slots__ = ("_busy", "_busy_since", "_down", "_down_since")

    def __init__(self) -> None:
        self._busy: list[Interval] = []
        self._busy_since: float | None = None
        self._down: dict[int, list[Interval]] = {}  # only devices that went down
        self._down_since: dict[int, float] = {}  # devices down now

    def congested(self, congested: bool, now: float) -> None:
        """OTA's share of the HAN's airtime is (or is not) above the threshold from `now`."""
        if congested:
            if self._busy_since is None:
                self._busy_since = now
        elif self._busy_since is not None:
            self._busy.append((self._busy_since, now))
            self._busy_since = None

    def went_down(self, device: int, now: float) -> None:
        self._down_since[device] = now

    def came_up(self, device: int, now: float) -> None:
        self._down.setdefault(device, []).append((self._down_since.pop(device), now))

    def busy_intervals(self, now: float) -> list[Interval]:
        """When OTA held the HAN above the congestion threshold (open interval closed at now)."""
        if self._busy_since is None:
            return list(self._busy)
        return [*self._busy, (self._busy_since, now)]

    def down_intervals(self, device: int, now: float) -> list[Interval]:
        done = self._down.get(device, [])
        since = self._down_since.get(device)
        return done if since is None else [*done, (since, now)]

    def home(
        self,
        home: Home,
        devices: Mapping[EUI64, Device],
        ota_blocks: int,
        timing: HanTiming,
        now: float,
    ) -> HomeDisruption:
        """What the home's GSME, IHD and PPMID suffered (cut off while they or a bridge on
        their path were down; messages lost to that and to congestion)."""
        busy = self.busy_intervals(now)
        mins: dict[str, float] = {"gsme": 0.0, "ihd": 0.0, "ppmid": 0.0}
        lost_u = lost_c = 0
        every: list[Interval] = []
        watched: tuple[tuple[str, Bridge | HanDevice | None, float], ...] = (
            ("gsme", home.gsme, timing.gsme_period_s),
            ("ihd", home.ihd, timing.ihd_period_s),
            ("ppmid", home.ppmid, timing.ihd_period_s),
        )
        for key, dev, period in watched:
            if dev is None:
                continue
            d = devices[dev.eui]
            ivs: list[Interval] = list(self.down_intervals(d.index, now))
            for p in d.path:
                ivs.extend(self.down_intervals(p.index, now))
            merged = union(ivs)
            every.extend(merged)
            mins[key] = sum(b - a for a, b in merged) / 60.0
            phase = (dev.eui.value % 9973) / 9973.0 * period
            lost_u += count_ticks(merged, period, phase)
            lost_c += count_ticks(subtract(busy, merged), period, phase)
        return HomeDisruption(
            home_id=home.id,
            gsme_unreachable_min=mins["gsme"],
            ihd_unreachable_min=mins["ihd"],
            ppmid_unreachable_min=mins["ppmid"],
            lost_unreachable=lost_u,
            lost_congestion=lost_c,
            ota_airtime_s=ota_blocks * timing.han_block_airtime_s,
            outage_windows=len(union(every)),
        )
