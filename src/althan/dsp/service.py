"""The DSP: the system of record behind the DUIS gateway.

Every inbound message (a DUIS request, an SM WAN message) is handled in ONE transaction that
also writes what must be sent into the outbox; dispatchers deliver from the outbox. Handlers are
idempotent: SM WAN messages carry IDs recorded in the inbox, DUIS requests carry RequestIDs whose
counters must strictly increase. The DSP is handed the time; it never reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from sqlalchemy import Connection, Engine, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from althan.dsp import catalogue as C
from althan.dsp.duis_io import DuisIO, DuisRejected, Request
from althan.dsp.gbcs_out import DspGbcsKeys
from althan.dsp.outbox import Outbox
from althan.duis.srv import SERVICE_FOR_CV, SrvInfo, srv_matrix
from althan.model import DCC_EUI, EUI64, UserRole
from althan.smwan import SmwanMessage
from althan.store import ImageStore
from althan.store.tables import UTCDateTime, eui_to_db, users

_USER = select(users.c.roles, users.c.last_counter).where(users.c.eui == bindparam("eui"))
_CLAIM_COUNTER = text(
    "UPDATE users SET last_counter = :counter WHERE eui = :eui"
    " AND (last_counter IS NULL OR last_counter < :counter)"
)
_RECORD_REQUEST = text(
    "INSERT INTO service_requests (request_id, user_eui, counter, srv, received_at,"
    " response_code, device_count) VALUES (:request_id, :user_eui, :counter, :srv,"
    " :received_at, :response_code, :device_count)"
).bindparams(bindparam("received_at", type_=UTCDateTime()))


class Reject(Exception):
    """A rule refused the request: answer `code`, change nothing."""

    def __init__(self, code: C.Code, detail: str = "") -> None:
        super().__init__(f"{code.code}: {detail or code.meaning}")
        self.code = code
        self.detail = detail or code.meaning


@dataclass(frozen=True, slots=True)
class DuisReply:
    """What the gateway answers synchronously."""

    http_status: int
    body: bytes
    response_code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Handled:
    """A handler's synchronous result: response code and optional payload element."""

    code: C.Code
    payload: etree._Element | None = None
    device_count: int = 0


@dataclass
class DspSettings:
    dcc_eui: EUI64 = DCC_EUI
    max_11_4_devices: int = 50_000
    max_image_bytes: int = 10_240_000
    outbox_backoff: Sequence[float] = field(default_factory=lambda: (1, 2, 5, 15, 60, 300))


@dataclass
class Ctx:
    """What a SRV handler is given."""

    conn: Connection
    req: Request
    user: EUI64
    roles: frozenset[UserRole]
    now: datetime
    srv: SrvInfo


Handler = Callable[["Dsp", Ctx], Handled]


class Dsp:
    def __init__(
        self,
        engine: Engine,
        images: ImageStore,
        duis: DuisIO,
        *,
        gbcs_keys: DspGbcsKeys,
        settings: DspSettings | None = None,
    ) -> None:
        from althan.dsp import srv_8, srv_11, srv_12, srv_critical  # handler families

        self.engine = engine
        self.images = images
        self.duis = duis
        self.gbcs_keys = gbcs_keys
        self.settings = settings or DspSettings()
        self.outbox = Outbox(engine)
        self.handlers: dict[str, Handler] = {
            **srv_8.HANDLERS,
            **srv_11.HANDLERS,
            **srv_12.HANDLERS,
            **srv_critical.HANDLERS,
        }

    # ------------------------------------------------------------------ DUIS gateway
    def handle_duis(self, service: str, data: bytes, now: datetime) -> DuisReply:
        """POST /api/v1/service{D,S,T}: authenticate, authorise, validate, process, answer."""
        try:
            req = self.duis.accept(data)
        except DuisRejected as exc:
            code = getattr(C, exc.code)
            body = self.duis.response(
                request_id=exc.request_id,
                response_id=None,
                code=code.code,
                when=now,
                service_reference=exc.service_reference,
                service_reference_variant=exc.service_reference_variant,
            )
            return DuisReply(
                400 if exc.code == "E19" and exc.malformed else 200, body, code.code, exc.detail
            )
        try:
            with self.engine.begin() as conn:
                handled = self._process(conn, service, req, now)
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
            request_id=req.request_id_text,
            response_id=None,
            code=code.code,
            when=now,
            service_reference=req.service_reference,
            service_reference_variant=req.service_reference_variant,
            payload=payload,
            schema_version=req.schema_version,
        )
        return DuisReply(200, body, code.code, detail)

    def _process(self, conn: Connection, service: str, req: Request, now: datetime) -> Handled:
        user_row = conn.execute(_USER, {"eui": eui_to_db(req.originator)}).first()
        if user_row is None:
            raise Reject(C.E2, f"user {req.originator} is not a registered DCC user")
        if req.signer != req.originator:
            raise Reject(C.E4, f"signed by {req.signer}, RequestID originator {req.originator}")
        srv = srv_matrix().get(req.service_reference_variant)
        if srv is None:
            raise Reject(C.E21, f"{req.service_reference_variant} is not supported by althan")
        if srv.reference != req.service_reference:
            raise Reject(
                C.E19,
                f"ServiceReferenceVariant {req.service_reference_variant} "
                f"is not of ServiceReference {req.service_reference}",
            )
        roles = frozenset(UserRole(r) for r in user_row.roles.split(",") if r)
        if not roles & srv.roles:
            raise Reject(C.E3, f"roles {sorted(roles)} may not send {srv.variant} ({srv.name})")
        if req.command_variant not in srv.allowed_command_variants():
            raise Reject(
                C.E11, f"CommandVariant {req.command_variant} not allowed for {srv.variant}"
            )
        if SERVICE_FOR_CV.get(req.command_variant) != service:
            raise Reject(
                C.E100,
                f"CommandVariant {req.command_variant} goes to service"
                f"{SERVICE_FOR_CV.get(req.command_variant)}, not service{service}",
            )
        if srv.non_device and req.target != self.settings.dcc_eui:
            raise Reject(C.E13, f"non-device request must target the DCC {self.settings.dcc_eui}")
        roles_ctx = Ctx(conn, req, req.originator, roles, now, srv)
        if srv.critical and req.command_variant in (5, 6, 7) and srv.variant in self.handlers:
            # A signed pre-command reuses the RequestID of its CV 4 transform: no new counter.
            from althan.dsp import srv_critical

            return srv_critical.signed_precommand(self, roles_ctx)
        handler = self.handlers.get(srv.variant)
        if handler is None:
            raise Reject(C.E21, f"{srv.variant} {srv.name} is not supported by althan")
        # The counter moves only forward: one conditional UPDATE both checks and claims it
        # (on PostgreSQL a concurrent request of the same user waits on the row, then fails).
        claimed = conn.execute(
            _CLAIM_COUNTER, {"eui": eui_to_db(req.originator), "counter": req.counter}
        ).rowcount
        if claimed != 1:
            raise Reject(C.E12, f"counter {req.counter} not greater than {user_row.last_counter}")
        ctx = Ctx(conn, req, req.originator, roles, now, srv)
        handled = handler(self, ctx)
        try:
            conn.execute(
                _RECORD_REQUEST,
                {
                    "request_id": req.request_id_text,
                    "user_eui": eui_to_db(req.originator),
                    "counter": req.counter,
                    "srv": srv.variant,
                    "received_at": now,
                    "response_code": handled.code.code,
                    "device_count": handled.device_count,
                },
            )
        except IntegrityError as exc:  # pragma: no cover - the counter guard comes first
            raise Reject(C.E12, f"RequestID {req.request_id_text} already used") from exc
        return handled

    # ------------------------------------------------------------------ SM WAN side
    def handle_smwan(self, msg: SmwanMessage, now: datetime) -> None:
        """A message from a CSP, in one transaction; a redelivered one changes nothing."""
        from althan.dsp import network_in

        with self.engine.begin() as conn:
            if not self.outbox.first_sight(conn, msg.msg_id, now):
                return
            network_in.handle(self, conn, msg, now)

    # ------------------------------------------------------------------ helpers for handlers
    def send_alert(
        self,
        conn: Connection,
        user: EUI64,
        alert: C.DccAlert,
        body: etree._Element,
        now: datetime,
        device: EUI64 | None = None,
        detail: str = "",
    ) -> None:
        """Record a DCC alert and queue it, signed, for the user's endpoint."""
        from althan.store.tables import alerts

        alert_id = conn.execute(
            insert(alerts)
            .values(code=alert.code, device=device, user_eui=user, created_at=now, detail=detail)
            .returning(alerts.c.id)
        ).scalar_one()
        xml = self.duis.dcc_alert(user=user, counter=alert_id, code=alert.code, when=now, body=body)
        self.outbox.put_duis(conn, user, xml, now)

    def send_device_response(
        self,
        conn: Connection,
        user: EUI64,
        request_id: str,
        device: EUI64,
        srv: SrvInfo,
        payload: etree._Element | None,
        now: datetime,
        code: str = "I0",
    ) -> None:
        """An asynchronous response to a device Service Request (ResponseID device:user:n)."""
        counter = request_id.rsplit(":", 1)[1]
        xml = self.duis.response(
            request_id=request_id,
            response_id=f"{device}:{user}:{counter}",
            code=code,
            when=now,
            service_reference=srv.reference,
            service_reference_variant=srv.variant,
            payload=payload,
        )
        self.outbox.put_duis(conn, user, xml, now)
