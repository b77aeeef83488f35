"""The sim runtime's wiring: the real DSP, DUIS users and the simulated network on one clock.

The DSP sits behind an adapter component at ``dsp``: a DUIS POST or an SM WAN message is handed
to it with the virtual time, then its outbox is drained into sends (SM WAN messages to
``csp:<Region>``, signed DUIS XML to ``user:<EUI>``). Users are components at ``user:<EUI>``
that check the DSP's signature on everything they receive.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from althan.dsp.outbox import SMWAN, OutboxItem
from althan.dsp.service import Dsp, DuisReply
from althan.duis.namespaces import SR
from althan.duis.xmldsig import TrustStore, verify
from althan.duis.xmlsafe import parse_xml
from althan.model import EUI64
from althan.runtime.faults import DspCrash, DspRestart
from althan.smwan import Effect, Send, SmwanMessage
from althan.smwan.addresses import DSP_ADDRESS, csp_address
from althan.smwan.codec import decode as decode_smwan
from althan.smwan.messages import (
    CSPFirmwareDeliveryStatus,
    FirmwareDistribution,
    GbcsAlert,
    GbcsCommand,
    GbcsResponse,
    HanJoinNotice,
)

EPOCH = datetime(2026, 12, 1, tzinfo=UTC)


SIM_CLAIMANT = "sim"
"""The sim runtime's one dispatcher: it sends everything it claims at once."""
TAKE_LIMIT = 5_000


def user_address(user: EUI64) -> str:
    """Where a DUIS user's endpoint sits in the sim."""
    return f"user:{user}"


SMWAN_TYPES = (
    FirmwareDistribution,
    CSPFirmwareDeliveryStatus,
    GbcsCommand,
    GbcsResponse,
    GbcsAlert,
    HanJoinNotice,
)
INBOUND_TYPES = (CSPFirmwareDeliveryStatus, GbcsResponse, GbcsAlert, HanJoinNotice)
"""What the CSPs send the DSP: the messages it batches."""


def at(now: float) -> datetime:
    """Virtual clock (POSIX seconds, as the network reads them) -> UTC datetime."""
    return datetime.fromtimestamp(now, UTC)


@dataclass(frozen=True, slots=True)
class DuisPost:
    """A DUIS HTTP POST to /api/v1/service{service}."""

    service: str
    body: bytes
    reply_to: str


@dataclass(frozen=True, slots=True)
class DuisHttpReply:
    reply: DuisReply


@dataclass(frozen=True, slots=True)
class DuisDelivery:
    """An asynchronous response or alert POSTed to a user's endpoint."""

    xml: bytes


class DspNode:
    """The DSP as a sim component.

    The fault plan may crash it (:class:`DspCrash`, as ``kill -9`` would: the process and
    everything it held in memory are gone, its store stays) and restart it
    (:class:`DspRestart`: `restart` builds a new DSP on the same store, as ``althan serve``
    does when started again). While it is down, what is sent to it waits in the senders'
    transports and arrives when it is back. The crash lands after its last commit and before
    the acknowledgements: the last SM WAN message it took is delivered to it again, and the
    last messages it sent are delivered again (their receivers' acknowledgements were lost) —
    the store's inbox and the receivers' idempotency must absorb both.
    """

    address = DSP_ADDRESS
    EXPIRE = "expire-deliveries"
    """Timer token: fail the deliveries whose deadline has passed (`Dsp.expire`)."""

    def __init__(self, dsp: Dsp, restart: Callable[[], Dsp] | None = None) -> None:
        self.dsp = dsp
        self.handled = 0
        self.down = False
        self.crashes = 0
        self._restart = restart
        self._waiting: list[object] = []  # sent to it while it was down
        self._last_in: object | None = None
        self._last_out: list[Effect] = []

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        if isinstance(msg, DspCrash):
            self._crash()
            return []
        if isinstance(msg, DspRestart):
            return self._start_again(now)
        if self.down:
            self._waiting.append(msg)
            return []
        return self._handle(msg, now)

    def _crash(self) -> None:
        if self.down or self._restart is None:
            return
        self.down = True
        self.crashes += 1
        self.dsp.engine.dispose()

    def _start_again(self, now: float) -> list[Effect]:
        if not self.down or self._restart is None:
            return []
        self.dsp = self._restart()
        self.down = False
        out = list(self._last_out)  # delivered again: their acknowledgements were lost
        waiting, self._waiting = self._waiting, []
        if self._last_in is not None:  # its acknowledgement was lost too
            waiting.insert(0, self._last_in)
        for msg in waiting:
            out.extend(self._handle(msg, now))
        out.extend(self.drain(at(now)))
        return out

    def _handle(self, msg: object, now: float) -> list[Effect]:
        t = at(now)
        out: list[Effect] = []
        if isinstance(msg, DuisPost):
            out.append(
                Send(msg.reply_to, DuisHttpReply(self.dsp.handle_duis(msg.service, msg.body, t)))
            )
        elif isinstance(msg, SMWAN_TYPES):
            return self.on_messages([msg], now)
        else:
            raise TypeError(f"dsp cannot handle {type(msg).__name__}")
        self.handled += 1
        sent = self.drain(t)
        if sent:
            self._last_out = sent
        out.extend(sent)
        return out

    def batches(self, msg: object) -> bool:
        """SM WAN messages from the CSPs are handled many to a transaction (`on_messages`)."""
        return not self.down and isinstance(msg, INBOUND_TYPES)

    def on_messages(self, msgs: Sequence[object], now: float) -> list[Effect]:
        """SM WAN messages of one instant in one transaction, each as if it came alone: handled
        in order, and what each queued sent after it (so a crash after the batch re-sends what
        the last one sent, as it would have). The outbox is taken once, at the end: the rows
        come back in the order they were put, and each message's share is the count it put
        (rows due before the batch went first, with the first message, as its take had them)."""
        t = at(now)
        smwan: list[SmwanMessage] = []
        for msg in msgs:
            if not isinstance(msg, SMWAN_TYPES):
                raise TypeError(f"dsp cannot batch {type(msg).__name__}")
            smwan.append(msg)
        outbox = self.dsp.outbox
        counts: list[int] = []
        mark = outbox.puts

        def put_by(_msg: SmwanMessage) -> None:
            nonlocal mark
            counts.append(outbox.puts - mark)
            mark = outbox.puts

        with self.dsp.engine.begin() as conn:
            self.dsp.handle_smwan_many(conn, smwan, t, after=put_by)
            items: list[OutboxItem] = []
            while True:
                taken = outbox.take(SIM_CLAIMANT, t, limit=TAKE_LIMIT, conn=conn)
                items.extend(taken)
                if len(taken) < TAKE_LIMIT:
                    break
        earlier = len(items) - sum(counts)
        if earlier < 0:
            raise RuntimeError(f"{-earlier} outbox rows put in the batch were not due at once")
        out: list[Effect] = []
        start = 0
        for i, (msg, n) in enumerate(zip(smwan, counts, strict=True)):
            end = start + n + (earlier if i == 0 else 0)
            sent = self._sends(items[start:end])
            start = end
            self._last_in = msg
            self.handled += 1
            if sent:
                self._last_out = sent
            out.extend(sent)
        return out

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        if self.down:  # its timers died with it; a restarted DSP expires what is due
            return []
        if token == self.EXPIRE:
            self.dsp.expire(at(now))
        return self.drain(at(now))

    def drain(self, t: datetime) -> list[Effect]:
        """Everything due in the outbox becomes a send; rows are marked sent."""
        out: list[Effect] = []
        while True:
            items = self.dsp.outbox.take(SIM_CLAIMANT, t, limit=TAKE_LIMIT)
            out.extend(self._sends(items))
            if len(items) < TAKE_LIMIT:  # all that is due (nothing else writes the store)
                return out

    def _sends(self, items: Sequence[OutboxItem]) -> list[Effect]:
        out: list[Effect] = []
        images = functools.cache(self.dsp.services.images.get)
        for it in items:
            if it.kind == SMWAN:
                msg = decode_smwan(it.payload, image=images)
                out.append(Send(csp_address(it.region), msg))
            else:
                out.append(Send(user_address(it.user), DuisDelivery(it.payload)))
        return out


def _text(root: etree._Element, path: str) -> str | None:
    e = root.find(path)
    return e.text if e is not None else None


@dataclass(slots=True, eq=False)
class Received:
    """One signed document a user got, with what it says; its parsed `root` is read from the
    bytes when first asked for (most documents are only counted)."""

    xml: bytes = field(repr=False)
    response_code: str | None
    request_id: str | None
    alert_code: str | None
    device: str | None
    response_id: str | None = field(default=None, repr=False)
    _root: etree._Element | None = field(default=None, init=False, repr=False)

    @property
    def root(self) -> etree._Element:
        if self._root is None:
            self._root = parse_xml(self.xml)
        return self._root


@dataclass(frozen=True, slots=True)
class Arrival:
    """What a user that keeps no documents notes of one delivery."""

    time: float
    alert_code: str | None
    device: str | None


class UserNode:
    """A DUIS user's endpoint: keeps synchronous replies and asynchronous deliveries.

    Every delivery's signature is checked against the DSP's certificate; a document that does
    not verify is counted in `bad_signatures` and otherwise ignored.
    """

    def __init__(self, eui: EUI64, dsp_trust: TrustStore, *, keep_documents: bool = True) -> None:
        self.eui = eui
        self.address = user_address(eui)
        self.trust = dsp_trust
        self.keep_documents = keep_documents
        """False: `deliveries` stays empty and only `arrivals()` is noted (a large rollout)."""
        self.replies: list[DuisReply] = []
        self.deliveries: list[Received] = []
        self.times: list[float] = []  # virtual arrival time of each delivery
        self._alert_codes: list[str | None] = []  # without documents: each delivery's alert
        self._devices: list[str | None] = []  # and the device it names
        self.bad_signatures = 0
        self.alert_counts: Counter[str] = Counter()

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        if isinstance(msg, DuisHttpReply):
            self.replies.append(msg.reply)
        elif isinstance(msg, DuisDelivery):
            try:
                v = verify(msg.xml, self.trust)
            except Exception:
                self.bad_signatures += 1
                return []
            root = v.root
            alert = _text(root, f"{SR}Body/{SR}DCCAlertMessage/{SR}DCCAlertCode")
            dev = None
            if alert is not None:
                self.alert_counts[alert] += 1
                for e in root.iter(f"{SR}DeviceID", f"{SR}TargetDeviceID", f"{SR}OtherDeviceID"):
                    dev = e.text
                    break
            self.times.append(now)
            if not self.keep_documents:
                self._alert_codes.append(alert)
                self._devices.append(dev)
                return []
            self.deliveries.append(
                Received(
                    msg.xml,
                    _text(root, f"{SR}Header/{SR}ResponseCode"),
                    _text(root, f"{SR}Header/{SR}RequestID"),
                    alert,
                    dev,
                    _text(root, f"{SR}Header/{SR}ResponseID"),
                )
            )
        return []

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        return []

    def arrivals(self) -> list[Arrival]:
        """Every delivery in arrival order: when, its alert code (None for a response) and the
        device it names; kept with or without the documents."""
        if self.keep_documents:
            return [
                Arrival(t, d.alert_code, d.device)
                for t, d in zip(self.times, self.deliveries, strict=True)
            ]
        return [
            Arrival(t, a, d)
            for t, a, d in zip(self.times, self._alert_codes, self._devices, strict=True)
        ]

    def alerts(self, code: str) -> list[Received]:
        return [d for d in self.deliveries if d.alert_code == code]

    def responses_to(self, request_id: str) -> list[Received]:
        return [d for d in self.deliveries if d.request_id == request_id]
