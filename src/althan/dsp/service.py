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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import Connection, Engine

from althan.dsp import catalogue as C
from althan.dsp import firmware, inbox
from althan.dsp.bodies import FirmwareDistributionFailure
from althan.dsp.context import DspSettings, Effects, Handled, InboundCtx, Reject, Services
from althan.dsp.duis_io import DuisIO, DuisRejected, Request
from althan.dsp.gateway import STEPS, Call, Step, compose
from althan.dsp.inbound import INBOUND, InboundHandler
from althan.dsp.outbox import Outbox
from althan.dsp.routes import Routes
from althan.smwan import SmwanMessage
from althan.store import ImageStore


@dataclass(frozen=True, slots=True)
class DuisReply:
    """What the gateway answers synchronously."""

    http_status: int
    body: bytes
    response_code: str
    detail: str = ""
    media_type: str = "application/xml"


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
        return Effects(conn, self.services.duis, self.outbox, now)

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
        try:
            with self.engine.begin() as conn:
                call = Call(
                    conn, req, service, now, self.services, self.routes, self._effects(conn, now)
                )
                handled = self._pipeline(call)
                if not handled.code.code.startswith(("I", "W")):
                    raise Reject(handled.code)
        except Reject as rej:
            return self._reply(req, rej.code, None, now, rej.detail)
        return self._reply(req, handled.code, handled.payload, now)

    def _reply(
        self,
        req: Request,
        code: C.Code,
        payload: etree._Element | None,
        now: datetime,
        detail: str = "",
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
        return DuisReply(200, body, code.code, detail)

    # ------------------------------------------------------------------ time passing
    def next_deadline(self) -> datetime | None:
        """When `expire` next has work: the first deadline of a delivery in progress."""
        with self.engine.connect() as conn:
            return firmware.next_deadline(conn)

    def expire(self, now: datetime) -> int:
        """Fail every delivery in progress past its deadline (reason "timeout"); each 11.4's
        requester gets one N57 naming its devices. How many failed."""
        with self.engine.begin() as conn:
            expired = firmware.expire(conn, now)
            effects = self._effects(conn, now)
            for rid, group in itertools.groupby(expired, key=lambda d: d.request_id):
                devices = tuple(d.device for d in group)
                body = FirmwareDistributionFailure(str(rid), devices)
                effects.alert(rid.originator, body, detail=firmware.TIMEOUT_REASON)
        return len(expired)

    # ------------------------------------------------------------------ SM WAN side
    def handle_smwan(self, msg: SmwanMessage, now: datetime) -> None:
        """A message from a CSP, in one transaction; a redelivered one changes nothing."""
        handler = self._inbound[type(msg)]
        with self.engine.begin() as conn:
            if not inbox.first_sight(conn, msg.msg_id, now):
                return
            ctx = InboundCtx(conn, now, self.services, self._effects(conn, now), self._responses)
            handler(ctx, msg)


__all__ = ["Dsp", "DspSettings", "DuisReply", "Handled"]
