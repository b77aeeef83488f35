"""One CSP region's SM WAN: image transfers within its capacity, its latency, its outages.

At most ``concurrent`` transfers share ``bytes_per_s``; the rest queue. A transfer holds its
slot while its bytes move (:class:`althan.csp.events.BytesThrough` frees it); the image then
reaches its CH one latency later (:class:`~althan.csp.events.TransferDone`): latency is
propagation, not capacity. An outage (a fault the runtime injects:
:class:`~althan.csp.events.WanDown` ... :class:`~althan.csp.events.WanUp`) pauses the transfers
whose bytes are still moving and holds every message until it ends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from althan.csp.events import BytesThrough, TransferDone
from althan.han.config import RegionWan
from althan.han.hub import CommsHub
from althan.model import EUI64
from althan.smwan import Timer

__all__ = ["WanDelivery", "WanLink"]


@dataclass(slots=True)
class WanDelivery:
    """One image on its way to one CH, for some devices of its HAN."""

    distribution_id: str
    image: bytes
    sha256: str
    hub: CommsHub
    devices: tuple[EUI64, ...]
    queued_at: float
    fails: bool = False  # a fault: it reaches the CH broken
    started_at: float = 0.0
    done_at: float = 0.0
    busy_end: float = 0.0  # when its bytes are through, the WAN staying up
    left: float | None = None  # seconds of bytes still to move, while an outage pauses it
    gen: int = 0


class WanLink:
    """Transfers and the up/down state of one region's WAN."""

    def __init__(self, wan: RegionWan) -> None:
        self.wan = wan
        self._outages = 0  # outages under way (they may overlap)
        self._queue: deque[WanDelivery] = deque()
        self._active: dict[int, WanDelivery] = {}  # bytes moving (or paused by an outage)
        self._in_flight: dict[int, WanDelivery] = {}  # bytes through, latency to go
        self._next = 0

    @property
    def up(self) -> bool:
        return self._outages == 0

    def delay(self, now: float) -> float:
        """One-way latency from `now` (the WAN is up)."""
        return (now + self.wan.latency_s) - now

    # ------------------------------------------------------------------ transfers

    def enqueue(self, d: WanDelivery) -> None:
        self._queue.append(d)

    def start(self, now: float) -> tuple[list[WanDelivery], list[Timer]]:
        """Start queued transfers while there is capacity: those started, and their timers."""
        per_transfer = self.wan.bytes_per_s / self.wan.concurrent
        started: list[WanDelivery] = []
        timers: list[Timer] = []
        while len(self._active) < self.wan.concurrent and self._queue:
            d = self._queue.popleft()
            d.started_at = now
            busy = len(d.image) / per_transfer
            self._next += 1
            self._active[self._next] = d
            started.append(d)
            if self.up:
                d.busy_end = now + busy
                timers.append(self._timer(self._next, d, now))
            else:
                d.left = busy
        return started, timers

    def _timer(self, n: int, d: WanDelivery, now: float) -> Timer:
        return Timer(d.busy_end - now, BytesThrough(n, d.gen))

    def through(self, token: BytesThrough) -> Timer | None:
        """The transfer's bytes are through (its slot is free: start the next queued ones): the
        timer of its arrival at the CH, unless the token is stale."""
        d = self._active.get(token.transfer)
        if d is None or d.gen != token.gen:
            return None
        del self._active[token.transfer]
        self._in_flight[token.transfer] = d
        return Timer(self.wan.latency_s, TransferDone(token.transfer))

    def done(self, token: TransferDone) -> WanDelivery:
        """The transfer that reached its CH."""
        return self._in_flight.pop(token.transfer)

    def fail(self, distribution_id: str, chf: EUI64) -> None:
        """Mark that distribution's transfer to `chf` (queued, moving or in flight) to fail."""
        for d in (*self._queue, *self._active.values(), *self._in_flight.values()):
            if d.distribution_id == distribution_id and d.hub.home.chf == chf:
                d.fails = True

    # ------------------------------------------------------------------ outages

    def down(self, now: float) -> None:
        self._outages += 1
        if self._outages > 1:
            return
        for d in self._active.values():
            if d.left is None and d.busy_end > now:
                d.left = d.busy_end - now
                d.gen += 1  # voids its timer

    def back_up(self, now: float) -> list[Timer]:
        """An outage ends: the paused transfers move on (their timers)."""
        self._outages -= 1
        if self._outages:
            return []
        timers: list[Timer] = []
        for n, d in self._active.items():
            if d.left is not None:
                d.busy_end = now + d.left
                d.left = None
                timers.append(self._timer(n, d, now))
        return timers
