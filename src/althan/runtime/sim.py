"""The sim runtime: one thread, a virtual clock, deterministic delivery.

Components are sans-IO (`althan.smwan.effects.Component`); the simulator owns the only clock.
Events are ordered by (time, sequence number), so the same inputs and seed give the same run,
bit for bit. Latency, loss and faults are applied here, never inside components: a
:class:`Faults` (the seeded fault plan of :mod:`althan.runtime.faults`) decides, as each
message is delivered, whether its link loses it and which fault events follow it into the
component that got it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from althan.smwan.effects import Component, Effect, Send, Timer

LatencyFn = Callable[[str, str, object], float]
"""(sender address, receiver address, message) -> seconds of link latency."""


class Faults(Protocol):
    """Faults the runtime applies to message deliveries (`FaultInjector` fits)."""

    def lost(self, sender: str, receiver: str, msg: object) -> bool:
        """The link from `sender` to `receiver` loses `msg`."""
        ...

    def after(self, receiver: str, msg: object) -> Sequence[object]:
        """Fault events delivered to `receiver` right after `msg`."""
        ...

    def copies(self, sender: str, receiver: str, msg: object) -> Sequence[float]:
        """The link from `sender` to `receiver` delivers one copy of `msg` per value, each that
        many seconds later than its latency (none: lost; two: duplicated)."""
        ...

    def timer_copies(self, address: str, token: object) -> Sequence[float]:
        """The same for a timer of `address` that stands for a crossing inside the component
        (a command crossing a CSP's WAN to its CH); one ``0.0`` for any other timer."""
        ...


@runtime_checkable
class BatchComponent(Component, Protocol):
    """A component that takes consecutive messages of one instant together (the DSP: many SM
    WAN messages in one transaction). It must behave as if they came one at a time."""

    def batches(self, msg: object) -> bool:
        """`msg` may join a batch (messages it does not batch come one at a time)."""
        ...

    def on_messages(self, msgs: Sequence[object], now: float) -> Sequence[Effect]:
        """The effects of each message in turn, in one list."""
        ...


@dataclass(slots=True)
class _Event:
    at: float
    seq: int
    target: str
    is_timer: bool
    payload: object
    sender: str = ""


_Entry = tuple[float, int, _Event]
"""A queue entry: the heap orders by (time, sequence number), as plain tuples compare (the
sequence number is unique, so the event itself is never compared)."""


class UnknownAddress(LookupError):
    pass


class Simulator:
    """Discrete-event loop over sans-IO components."""

    def __init__(
        self,
        *,
        start: float = 0.0,
        latency: LatencyFn | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.now = start
        self._queue: list[_Entry] = []
        self._seq = 0
        self._components: dict[str, Component] = {}
        self._batching: dict[str, BatchComponent] = {}
        self._routes: list[tuple[str, Component]] = []
        self._latency = latency or (lambda _s, _r, _m: 0.0)
        self._faults = faults
        self.delivered = 0
        self.dropped = 0

    def add(self, component: Component) -> None:
        self._components[component.address] = component
        if isinstance(component, BatchComponent):
            self._batching[component.address] = component

    def add_route(self, prefix: str, component: Component) -> None:
        """Deliver any message addressed ``prefix...`` to `component` (e.g. ``ch:`` to a CSP)."""
        self._routes.append((prefix, component))

    def _resolve(self, address: str) -> Component:
        c = self._components.get(address)
        if c is not None:
            return c
        for prefix, comp in self._routes:
            if address.startswith(prefix):
                return comp
        raise UnknownAddress(address)

    def post(self, to: str, msg: object, *, at: float | None = None, sender: str = "") -> None:
        """Inject a message from outside (a test, the CLI) at time `at` (default: now)."""
        self._push(_Event(self.now if at is None else at, self._next(), to, False, msg, sender))

    def call_at(self, address: str, at: float, token: object) -> None:
        self._push(_Event(at, self._next(), address, True, token))

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _push(self, ev: _Event) -> None:
        heapq.heappush(self._queue, (ev.at, ev.seq, ev))

    def apply(self, source: str, effects: Iterable[Effect]) -> None:
        faults = self._faults
        for eff in effects:
            if isinstance(eff, Send):
                at = self.now + eff.delay + self._latency(source, eff.to, eff.msg)
                if faults is None:
                    self._push(_Event(at, self._next(), eff.to, False, eff.msg, source))
                    continue
                for extra in faults.copies(source, eff.to, eff.msg):
                    self._push(_Event(at + extra, self._next(), eff.to, False, eff.msg, source))
            elif isinstance(eff, Timer):
                at = self.now + eff.delay
                if faults is None:
                    self._push(_Event(at, self._next(), source, True, eff.token))
                    continue
                for extra in faults.timer_copies(source, eff.token):
                    self._push(_Event(at + extra, self._next(), source, True, eff.token))
            else:  # pragma: no cover - typing guards this
                raise TypeError(f"not an effect: {eff!r}")

    def step(self) -> bool:
        """Run the next event (and the messages batched with it); False when nothing is left."""
        return self._step(None) > 0

    def _step(self, budget: int | None) -> int:
        """Events consumed (at most `budget` when given): one, or a batch of messages."""
        if not self._queue:
            return 0
        ev = heapq.heappop(self._queue)[2]
        self.now = max(self.now, ev.at)
        comp = self._resolve(ev.target)
        if ev.is_timer:
            self.apply(comp.address, comp.on_timer(ev.payload, self.now))
            return 1
        faults = self._faults
        if faults is not None and faults.lost(ev.sender, ev.target, ev.payload):
            self.dropped += 1
            return 1
        batcher = self._batching.get(ev.target)
        if batcher is not None and batcher.batches(ev.payload):
            return self._batch(batcher, ev, budget)
        self.apply(comp.address, comp.on_message(ev.payload, self.now))
        self.delivered += 1
        if faults is not None:
            for fault in faults.after(ev.target, ev.payload):
                self.apply(comp.address, comp.on_message(fault, self.now))
        return 1

    def _batch(self, comp: BatchComponent, ev: _Event, budget: int | None) -> int:
        """`ev` and the messages right behind it in the queue for the same component at the
        same instant, handed over together. Same run as one at a time: nothing else would
        have come between them (their effects come later in the queue), each one's loss is
        drawn in the same order, and a message with fault events after it ends the batch."""
        faults = self._faults
        msgs = [ev.payload]
        n = 1
        after = faults.after(ev.target, ev.payload) if faults is not None else ()
        q = self._queue
        while not after and q and (budget is None or n < budget):
            nxt = q[0][2]
            if (
                nxt.at != ev.at
                or nxt.target != ev.target
                or nxt.is_timer
                or not comp.batches(nxt.payload)
            ):
                break
            heapq.heappop(q)
            n += 1
            if faults is not None and faults.lost(nxt.sender, nxt.target, nxt.payload):
                self.dropped += 1
                continue
            msgs.append(nxt.payload)
            if faults is not None:
                after = faults.after(nxt.target, nxt.payload)
        self.apply(comp.address, comp.on_messages(msgs, self.now))
        self.delivered += len(msgs)
        for fault in after:
            self.apply(comp.address, comp.on_message(fault, self.now))
        return n

    def run(self, *, until: float | None = None, max_events: int | None = None) -> int:
        """Run until the queue is empty, virtual time passes `until`, or `max_events` ran."""
        n = 0
        while self._queue:
            if until is not None and self._queue[0][0] > until:
                self.now = until
                break
            if max_events is not None and n >= max_events:
                break
            n += self._step(None if max_events is None else max_events - n)
        return n

    @property
    def pending(self) -> int:
        return len(self._queue)

    def next_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None
