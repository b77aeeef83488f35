"""Block transfer at one Comms Hub, in aggregate: segments, not blocks.

A download is a few segments during which blocks move to the device at a steady interval (the
OTA pacing arithmetic of :mod:`althan.zigbee.cluster`: airtime, MinimumBlockPeriod, a sleepy
device's poll period; the strategy decides which applies). A segment ends when the download
completes (a :class:`DownloadDone` timer), when the device or a bridge on its path goes down
(a stall: the device's OTA client keeps its offset, and the download resumes there), or when
the set of running downloads changes and the interval with it (naive downloads share the HAN).
Each change settles the device's offset up to now and counts the blocks moved.
"""

from __future__ import annotations

from althan.han.device import Device
from althan.han.events import DownloadDone, StartTimer
from althan.han.state import HubState
from althan.zigbee.cluster import blocks_between, offset_after

__all__ = ["finish", "resume", "run", "stall"]


def run(h: HubState, d: Device, now: float) -> None:
    """Start (or resume) moving blocks to a reachable, downloading device."""
    d.running = True
    start = now
    if d.spec.sleepy:  # the first block waits for the device's next poll
        p = h.timing.sleepy_poll_period_s
        phase = (d.eui.value % 1000) / 1000.0 * p
        start = now + ((phase - now) % p)
    d.seg_start = start
    _reshape(h, now, joining=d)


def resume(h: HubState, d: Device, now: float) -> None:
    """`d` may be back in reach: its download moves on from its offset."""
    if d.downloading and not d.running and d.reachable:
        run(h, d, now)  # Query Next Image again, then Image Block Request at the offset


def stall(h: HubState, d: Device, now: float) -> None:
    """`d` is cut off: its blocks stop, its offset stays."""
    if not d.running:
        return
    _settle(h, d, now)
    d.stalls += 1
    d.running = False
    d.gen += 1  # voids the pending DownloadDone
    _reshape(h, now)


def finish(h: HubState, d: Device, now: float) -> None:
    """`d`'s download reached the end of the image (its OTA client checks it next)."""
    assert d.image is not None
    h.ota_blocks += blocks_between(d.client.offset, d.image.info.size, h.timing.block_size)
    d.running = False
    d.gen += 1
    _reshape(h, now)


def _settle(h: HubState, d: Device, now: float) -> None:
    """Bring the device's offset up to `now` within its current segment."""
    assert d.image is not None
    size, bs, at = d.image.info.size, h.timing.block_size, d.client.offset
    new = offset_after(at, size, bs, max(0.0, now - d.seg_start), d.interval)
    if new > at:
        h.ota_blocks += blocks_between(at, new, bs)
        d.client.on_blocks(new)
    d.seg_start = max(d.seg_start, now)


def _plan(h: HubState, d: Device, now: float) -> None:
    assert d.image is not None
    d.gen += 1
    remaining = blocks_between(d.client.offset, d.image.info.size, h.timing.block_size)
    done_at = d.seg_start + remaining * d.interval
    h.out.append(StartTimer(max(0.0, done_at - now), DownloadDone(d.index, d.gen)))


def _reshape(h: HubState, now: float, joining: Device | None = None) -> None:
    """The running set changed: recompute intervals (naive shares the HAN) and congestion."""
    running = [d for d in h.devices if d.running]
    k = len(running)
    timing = h.timing
    for r in running:
        iv = h.strategy.block_interval(timing, remote=bool(r.path), sleepy=r.spec.sleepy, sharing=k)
        if r is joining or iv != r.interval:
            if r is not joining:
                _settle(h, r, now)
            r.interval = iv
            _plan(h, r, now)
    util = sum(timing.han_block_airtime_s / r.interval for r in running if r.interval > 0)
    h.disruption.congested(util >= timing.congestion_threshold, now)
