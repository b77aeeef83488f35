"""The DSP: the system of record behind the DUIS gateway.

Every inbound message (a DUIS request, an SM WAN message) is handled in ONE transaction that
also writes what must be sent into the outbox; dispatchers deliver from the outbox. Handlers are
idempotent: SM WAN messages carry IDs recorded in the inbox, DUIS requests carry RequestIDs whose
counters must strictly increase. The DSP is handed the time; it never reads a clock.

The DSP is assembled (`althan.runtime.assemble`) from its store, its services and its tables:
the SRV routes (`althan.dsp.routes`), the gateway steps (`althan.dsp.gateway.STEPS`) and the
inbound handlers (`althan.dsp.inbound.INBOUND`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import Connection, Engine

from althan.dsp import catalogue as C
from althan.dsp import commands, firmware, inbox, quarantine
from althan.dsp.bodies import CommandFailure, FirmwareDistributionFailure
from althan.dsp.context import DspSettings, Effects, Handled, InboundCtx, Reject, Services
from althan.dsp.duis_io import DuisIO, DuisRejected, Request
from althan.dsp.gateway import STEPS, Call, Step, compose, release_steps
from althan.dsp.inbound import INBOUND, InboundHandler
from althan.dsp.outbox import Outbox
from althan.dsp.outbox import latest as outbox_latest
from althan.dsp.routes import Routes
from althan.duis.envelope import RequestId
from althan.smwan import SmwanMessage
from althan.store import ImageStore


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of a quarantined request: its new status and the code it was answered."""

    ref: int
    request_id: str
    status: quarantine.Status
    code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DuisReply:
    """What the gateway answers synchronously."""

    http_status: int
    body: bytes
    response_code: str
    detail: str = ""
    media_type: str = "application/xml"
    queued: bool = False
    """The request put something in the outbox (the dispatcher has work)."""


class Dsp:
    def __init__(
        self,
        engine: Engine,
        services: Services,
        *,
        routes: Routes,
        steps: Sequence[Step] = STEPS,
        inbound: Mapping[type[SmwanMessage], InboundHandler] = INBOUND,
    ) -> None:
        self.engine = engine
        self.services = services
        self.routes = routes
        self.outbox = Outbox(engine)
        self._pipeline = compose(steps)
        self._released = compose(release_steps(steps))
        self._inbound = dict(inbound)
        self._responses = routes.response_handlers()

    @property
    def duis(self) -> DuisIO:
        return self.services.duis

    @property
    def images(self) -> ImageStore:
        return self.services.images

    @property
    def settings(self) -> DspSettings:
        return self.services.settings

    def _effects(self, conn: Connection, now: datetime) -> Effects:
        timeout = self.services.settings.command_timeout
        return Effects(conn, self.services.duis, self.outbox, now, timeout)

    # ------------------------------------------------------------------ DUIS gateway
    def handle_duis(self, service: str, data: bytes, now: datetime) -> DuisReply:
        """POST /api/v1/service{D,S,T}: authenticate, authorise, validate, process, answer."""
        try:
            req = self.duis.accept(data)
        except DuisRejected as exc:
            if exc.srv is None:
                # not a request naming a DUIS SRV: no valid DUIS response can answer it
                text = f"{exc.code.code} {exc.code.meaning}: {exc.detail}\n".encode()
                return DuisReply(400, text, exc.code.code, exc.detail, "text/plain")
            body = self.duis.response(
                request_id=exc.request_id,
                response_id=None,
                code=exc.code.code,
                when=now,
                service_reference=exc.srv.reference,
                service_reference_variant=exc.srv.variant,
            )
            return DuisReply(200, body, exc.code.code, exc.detail)
        puts = self.outbox.puts
        try:
            with self.engine.begin() as conn:
                call = Call(
                    conn,
                    req,
                    service,
                    now,
                    self.services,
                    self.routes,
                    self._effects(conn, now),
                    raw=data,
                )
                handled = self._pipeline(call)
                if not handled.code.code.startswith(("I", "W")):
                    raise Reject(handled.code)
        except Reject as rej:
            return self._reply(req, rej.code, None, now, rej.detail)
        queued = self.outbox.puts != puts
        return self._reply(req, handled.code, handled.payload, now, queued=queued)

    def _reply(
        self,
        req: Request,
        code: C.Code,
        payload: etree._Element | None,
        now: datetime,
        detail: str = "",
        *,
        queued: bool = False,
    ) -> DuisReply:
        body = self.duis.response(
            request_id=req.request_id,
            response_id=None,
            code=code.code,
            when=now,
            service_reference=req.service_reference,
            service_reference_variant=req.service_reference_variant,
            payload=payload,
            schema_version=req.schema_version,
        )
        return DuisReply(200, body, code.code, detail, queued=queued)

    # ------------------------------------------------------------------ quarantine
    def release(self, ref: int, now: datetime) -> Decision:
        """A DCC operator releases quarantined request `ref`: it is processed now, once, as if
        it had just arrived (the gateway steps again, its counter not claimed twice, no anomaly
        detection), in one transaction with the decision; the answer the gateway would have
        given goes to the user asynchronously. QuarantineError when `ref` is not Quarantined."""
        try:
            with self.engine.begin() as conn:
                entry = quarantine.decide(conn, ref, quarantine.Status.RELEASED, now)
                req = self.duis.accept(quarantine.request_xml(conn, ref))
                effects = self._effects(conn, now)
                call = Call(
                    conn,
                    req,
                    entry.service,
                    now,
                    self.services,
                    self.routes,
                    effects,
                    claims_counter=False,
                )
                handled = self._released(call)
                if not handled.code.code.startswith(("I", "W")):
                    raise Reject(handled.code)
                effects.response(
                    req.request_id, call.srv, handled.code.code, handled.payload, req.schema_version
                )
                quarantine.set_outcome(conn, ref, handled.code.code)
        except (Reject, DuisRejected) as exc:  # refused now: rolled back, answered with the code
            return self._answer_held(ref, quarantine.Status.RELEASED, exc.code, now, exc.detail)
        return Decision(ref, entry.request_id, quarantine.Status.RELEASED, handled.code.code)

    def reject(self, ref: int, now: datetime) -> Decision:
        """A DCC operator rejects quarantined request `ref`: it is never processed; its user is
        answered E48. QuarantineError when `ref` is not Quarantined."""
        return self._answer_held(ref, quarantine.Status.REJECTED, C.E48, now, "rejected")

    def expire_quarantine(self, now: datetime) -> list[Decision]:
        """Every request still in quarantine past its expiry: Expired, its user answered E48."""
        with self.engine.connect() as conn:
            refs = quarantine.due(conn, now)
        out = []
        for ref in refs:
            try:
                out.append(self._answer_held(ref, quarantine.Status.EXPIRED, C.E48, now, "expired"))
            except quarantine.QuarantineError:  # decided meanwhile by an operator
                continue
        return out

    def next_quarantine_expiry(self) -> datetime | None:
        """When `expire_quarantine` next has work."""
        with self.engine.connect() as conn:
            return quarantine.next_expiry(conn)

    def _answer_held(
        self, ref: int, status: quarantine.Status, code: C.Code, now: datetime, detail: str
    ) -> Decision:
        """Decide `ref` and answer its user `code`, in one transaction."""
        with self.engine.begin() as conn:
            entry = quarantine.decide(conn, ref, status, now)
            srv = self.services.srvs[entry.srv]
            rid = RequestId.parse(entry.request_id)
            effects = self._effects(conn, now)
            effects.response(rid, srv, code.code, None, entry.schema_version)
            quarantine.set_outcome(conn, ref, code.code)
        return Decision(ref, entry.request_id, status, code.code, detail)

    # ------------------------------------------------------------------ time passing
    def latest_time(self) -> datetime | None:
        """The latest time the store was written with (a clock restarted on this store must
        not run backwards past it)."""
        with self.engine.connect() as conn:
            return outbox_latest(conn)

    def next_deadline(self) -> datetime | None:
        """When `expire` next has work: the first deadline of a delivery in progress or of a
        command awaiting its device."""
        with self.engine.connect() as conn:
            due = [firmware.next_deadline(conn), commands.next_expiry(conn)]
        return min((d for d in due if d is not None), default=None)

    def expire(self, now: datetime) -> int:
        """Fail every delivery in progress past its deadline (reason "timeout"): each 11.4's
        requester gets one N57 naming its devices. Answer every device command past its expiry
        with N58 to its requester. How many ended."""
        with self.engine.begin() as conn:
            expired = firmware.expire(conn, now)
            effects = self._effects(conn, now)
            for rid, group in itertools.groupby(expired, key=lambda d: d.request_id):
                devices = tuple(d.device for d in group)
                body = FirmwareDistributionFailure(str(rid), devices)
                effects.alert(rid.originator, body, detail=firmware.TIMEOUT_REASON)
            silent = commands.expire(conn, now)
            for c in silent:
                failure = CommandFailure(str(c.request_id), c.device)
                effects.alert(c.user, failure, device=c.device, detail=c.srv)
        return len(expired) + len(silent)

    # ------------------------------------------------------------------ SM WAN side
    def handle_smwan(self, msg: SmwanMessage, now: datetime) -> None:
        """A message from a CSP, in one transaction; a redelivered one changes nothing."""
        with self.engine.begin() as conn:
            self.handle_smwan_many(conn, [msg], now)

    def handle_smwan_many(
        self,
        conn: Connection,
        msgs: Sequence[SmwanMessage],
        now: datetime,
        after: Callable[[SmwanMessage], None] | None = None,
    ) -> None:
        """SM WAN messages of one instant in the caller's transaction, each handled as if it
        came alone, in order (`after` is called once each has been: the sim takes what it
        queued); their IDs go into the inbox in one statement, so a redelivered one (or the
        second of two alike) changes nothing."""
        handlers = [self._inbound[type(m)] for m in msgs]
        fresh = inbox.first_sights(conn, [m.msg_id for m in msgs], now)
        ctx = InboundCtx(conn, now, self.services, self._effects(conn, now), self._responses)
        for msg, handler in zip(msgs, handlers, strict=True):
            if msg.msg_id in fresh:
                fresh.discard(msg.msg_id)
                handler(ctx, msg)
            if after is not None:
                after(msg)


__all__ = ["Decision", "Dsp", "DspSettings", "DuisReply", "Handled"]
