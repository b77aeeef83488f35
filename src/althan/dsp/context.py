"""What a DSP handler is given and what it gives back.

A Service Request handler is a function ``(Ctx) -> Handled``: it reads the request and the
store through ``ctx.conn`` (the one transaction the request runs in), refuses by raising
`Reject` (the transaction is rolled back: a refusal changes nothing), and sends through
``ctx.effects`` — every alert, device response and SM WAN command is written to the outbox in
that same transaction, so it is sent if and only if the request's changes are kept.

The same `Effects` serve the handlers of inbound SM WAN messages (`InboundCtx`) and the
per-SRV handling of a device's response to a command (`ResponseCtx`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from sqlalchemy import Connection

from althan.dsp import alerts, commands
from althan.dsp import catalogue as C
from althan.dsp.bodies import AlertBody
from althan.dsp.duis_io import DuisIO, Request
from althan.dsp.gbcs_in import DecodedResponse
from althan.dsp.gbcs_out import DspGbcsKeys
from althan.dsp.outbox import Outbox
from althan.duis.envelope import RequestId
from althan.duis.srv import SrvInfo, SrvMatrix
from althan.model import DCC_EUI, EUI64, Region, UserRole
from althan.smwan import GbcsCommand, SmwanMessage
from althan.store import ImageStore

__all__ = [
    "Ctx",
    "DspSettings",
    "Effects",
    "Handled",
    "Handler",
    "InboundCtx",
    "Reject",
    "ResponseCtx",
    "ResponseHandler",
    "Route",
    "Services",
    "UserDsKeys",
]


class Reject(Exception):
    """A rule refused the request: answer `code`, change nothing."""

    def __init__(self, code: C.Code, detail: str = "") -> None:
        super().__init__(f"{code.code}: {detail or code.meaning}")
        self.code = code
        self.detail = detail or code.meaning


@dataclass(frozen=True, slots=True)
class Handled:
    """A handler's synchronous result: response code and optional payload element."""

    code: C.Code
    payload: etree._Element | None = None
    device_count: int = 0


@dataclass(frozen=True)
class DspSettings:
    dcc_eui: EUI64 = DCC_EUI
    max_11_4_devices: int = 50_000
    delivery_timeout: timedelta = timedelta(days=3)
    """An 11.4 delivery with no outcome this long after the request fails ("timeout")."""
    command_timeout: timedelta = timedelta(hours=24)
    """A device Service Request whose device has not answered this long after it was sent is
    answered with a DCC alert instead (N58 CommandFailure); a later response is dropped."""
    quarantine_expiry: timedelta = timedelta(hours=48)
    """A quarantined request no DCC operator released or rejected this long expires (E48)."""
    report_period: timedelta = timedelta(days=1)
    """How often the deployed-versions report goes to AltHANCo (`althan.reports.editions`)."""
    outbox_backoff: Sequence[float] = field(default_factory=lambda: (1, 2, 5, 15, 60, 300))


UserDsKeys = Callable[[EUI64], Sequence[ec.EllipticCurvePublicKey]]
"""A DCC user's GBCS DS public keys (its organisation certificates in the SMKI repository)."""


@dataclass(frozen=True)
class Services:
    """What the DSP is assembled with, loaded once: handlers do no I/O beyond the store."""

    images: ImageStore
    duis: DuisIO
    gbcs_keys: DspGbcsKeys
    srvs: SrvMatrix
    user_ds_keys: UserDsKeys
    settings: DspSettings = field(default_factory=DspSettings)


@dataclass(slots=True, eq=False)
class Effects:
    """What a transaction sends: recorded and queued in the outbox of that same transaction."""

    conn: Connection
    duis: DuisIO
    outbox: Outbox
    now: datetime
    command_timeout: timedelta = DspSettings.command_timeout

    def alert(
        self, user: EUI64, body: AlertBody, *, device: EUI64 | None = None, detail: str = ""
    ) -> None:
        """A DCC alert, signed, for `user`; its code is the one the catalogue binds to `body`."""
        alerts.send(
            self.conn,
            self.duis,
            self.outbox,
            user,
            body,
            self.now,
            device=device,
            detail=detail,
        )

    def response(
        self,
        request_id: RequestId,
        srv: SrvInfo,
        code: str,
        payload: etree._Element | None = None,
        schema_version: str = "5.1",
    ) -> None:
        """The answer to a request, sent asynchronously to its originator instead of in the
        HTTP reply (a quarantined request that was released, rejected or expired)."""
        xml = self.duis.response(
            request_id=request_id,
            response_id=None,
            code=code,
            when=self.now,
            service_reference=srv.reference,
            service_reference_variant=srv.variant,
            payload=payload,
            schema_version=schema_version,
        )
        self.outbox.put_duis(self.conn, request_id.originator, xml, self.now)

    def device_response(
        self,
        request_id: RequestId,
        srv: SrvInfo,
        payload: etree._Element | None,
        code: str = "I0",
    ) -> None:
        """The asynchronous response to a device Service Request, for its originator
        (ResponseID: the RequestID reversed, ``<target>:<user>:<counter>``)."""
        xml = self.duis.response(
            request_id=request_id,
            response_id=request_id.reversed(),
            code=code,
            when=self.now,
            service_reference=srv.reference,
            service_reference_variant=srv.variant,
            payload=payload,
        )
        self.outbox.put_duis(
            self.conn, request_id.originator, xml, self.now, request_id=str(request_id)
        )

    def command(
        self,
        request_id: RequestId,
        srv: SrvInfo,
        *,
        device: EUI64,
        chf: EUI64,
        region: Region,
        payload: bytes,
        detail: str = "",
    ) -> None:
        """A GBCS command to `device` behind `chf`, via its CSP; its response comes back to
        the request (`althan.dsp.commands`), or, past the command timeout, N58 does."""
        msg_id = commands.command_id(request_id, device)
        commands.record(
            self.conn,
            msg_id,
            request_id=request_id,
            user=request_id.originator,
            srv=srv.variant,
            device=device,
            chf=chf,
            detail=detail,
            now=self.now,
            expires_at=self.now + self.command_timeout,
        )
        self.smwan([(region, GbcsCommand(msg_id, chf, device, payload))])

    def smwan(self, messages: Sequence[tuple[Region, SmwanMessage]]) -> None:
        """SM WAN messages for CSP regions."""
        self.outbox.put_smwan(self.conn, messages, self.now)

    def smwan_encoded(self, messages: Sequence[tuple[Region, bytes]]) -> None:
        """SM WAN messages for CSP regions, already encoded (`althan.smwan.codec`): the 11.4
        fan-out writes its FirmwareDistributions straight from stored rows."""
        self.outbox.put_smwan_encoded(self.conn, messages, self.now)


@dataclass(frozen=True)
class Ctx:
    """A Service Request being handled."""

    conn: Connection
    req: Request
    roles: frozenset[UserRole]
    srv: SrvInfo
    now: datetime
    services: Services
    effects: Effects

    @property
    def user(self) -> EUI64:
        """The requesting user (the RequestID originator, who signed it)."""
        return self.req.originator


Handler = Callable[[Ctx], Handled]


@dataclass(frozen=True)
class InboundCtx:
    """An SM WAN message from a CSP being handled."""

    conn: Connection
    now: datetime
    services: Services
    effects: Effects
    responses: Mapping[str, ResponseHandler]
    """Each SRV's handling of a device's response to its command (`althan.dsp.routes`)."""


@dataclass(frozen=True)
class ResponseCtx:
    """A device's response to the command a Service Request sent."""

    conn: Connection
    now: datetime
    services: Services
    effects: Effects
    command: commands.CommandRecord
    payload: bytes
    result: DecodedResponse | None
    """The decoded response, None when it did not decode or its MAC did not verify."""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.success


ResponseHandler = Callable[[ResponseCtx], None]


@dataclass(frozen=True, slots=True)
class Route:
    """One Service Request Variant the DSP serves: its handler and, for a device request whose
    command's response needs more than relaying, what to do with that response."""

    variant: str
    handle: Handler
    on_response: ResponseHandler | None = None
    body: str | None = None
    """The ``sr:Body`` element its requests carry (the schema admits any SRV's there); another
    is answered E19 before the handler runs. None: the handler checks (the critical SRVs, whose
    CV 5-7 carry ``sr:SignedPreCommand``)."""
