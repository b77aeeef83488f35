"""How a Comms Hub serves firmware to its HAN: naive and han-aware, behind one protocol.

A strategy decides three things: which queued jobs start (and whether one download at a time),
how fast blocks move (MinimumBlockPeriod, and whether concurrent downloads share the HAN's
airtime), and whether activations are held until the hub releases them. The hub asks the
strategy object; nothing compares a strategy's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from althan.han.config import HanTiming, Strategy
from althan.han.device import Device
from althan.han.jobs import Job
from althan.zigbee.cluster import block_interval

__all__ = ["STRATEGIES", "HanAware", "Naive", "OtaStrategy"]


class OtaStrategy(Protocol):
    @property
    def name(self) -> Strategy: ...

    @property
    def one_download_at_a_time(self) -> bool:
        """Start a job only when no device of the HAN is downloading; stop after one starts."""
        ...

    @property
    def holds_activation(self) -> bool:
        """The OTA server answers Upgrade End with "wait"; the hub releases the activations."""
        ...

    def order(self, pending: Sequence[Job], b1: Device) -> list[Job]:
        """The queued jobs in the order to try them."""
        ...

    def min_block_period_s(self, timing: HanTiming) -> float:
        """The OTA server's MinimumBlockPeriod."""
        ...

    def block_interval(
        self, timing: HanTiming, *, remote: bool, sleepy: bool, sharing: int
    ) -> float:
        """Seconds between two blocks to one device while `sharing` devices download."""
        ...


def _airtime(timing: HanTiming, remote: bool) -> float:
    return timing.p2p_block_airtime_s if remote else 0.0


def _poll(timing: HanTiming, sleepy: bool) -> float:
    return timing.sleepy_poll_period_s if sleepy else 0.0


class Naive:
    """Every target at once, no block pacing (concurrent downloads share the HAN's airtime),
    and each device activates as soon as its download verifies."""

    name = Strategy.NAIVE
    one_download_at_a_time = False
    holds_activation = False

    def order(self, pending: Sequence[Job], b1: Device) -> list[Job]:
        return list(pending)

    def min_block_period_s(self, timing: HanTiming) -> float:
        return 0.0

    def block_interval(
        self, timing: HanTiming, *, remote: bool, sleepy: bool, sharing: int
    ) -> float:
        return block_interval(
            min_block_period_s=0.0,
            airtime_s=sharing * timing.han_block_airtime_s + _airtime(timing, remote),
            poll_period_s=_poll(timing, sleepy),
        )


class HanAware:
    """One download per HAN at a time, remote bridges first and B1 last, paced blocks
    (MinimumBlockPeriod), activations held and released together (remote bridges, then B1)."""

    name = Strategy.HAN_AWARE
    one_download_at_a_time = True
    holds_activation = True

    def order(self, pending: Sequence[Job], b1: Device) -> list[Job]:
        def priority(job: Job) -> tuple[int, int]:
            d = job.device
            if d is b1:
                return (2, job.seq)
            if d.variant is not None:
                return (0, job.seq)  # remote bridges first
            return (1, job.seq)

        return sorted(pending, key=priority)

    def min_block_period_s(self, timing: HanTiming) -> float:
        return timing.min_block_period_s

    def block_interval(
        self, timing: HanTiming, *, remote: bool, sleepy: bool, sharing: int
    ) -> float:
        return block_interval(
            min_block_period_s=timing.min_block_period_s,
            airtime_s=timing.han_block_airtime_s + _airtime(timing, remote),
            poll_period_s=_poll(timing, sleepy),
        )


STRATEGIES: Mapping[Strategy, OtaStrategy] = {
    Strategy.NAIVE: Naive(),
    Strategy.HAN_AWARE: HanAware(),
}
"""The strategy object for each name (the name is what configuration and reports carry)."""
