"""The DSP's request pipeline: small steps, each one rule, composed like Starlette middleware.

A request that `DuisIO.accept` let through (well-formed, schema-valid, signed by a trusted
certificate) becomes a `Call` and passes the steps of `STEPS` in order; each step either
refuses (raises `Reject`: the request's transaction is rolled back) or calls the next. The
last step runs the SRV's handler. Anomaly detection (`althan.dsp.anomaly`) is one step of the
list, after the request is authenticated, authorised and validated and before the SRV's own
rules; a quarantined request that a DCC operator releases later runs the steps again, without
claiming its counter a second time (`RELEASE_SKIPS`), and those after anomaly detection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from lxml import etree
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from althan.dsp import anomaly, requests, users
from althan.dsp import catalogue as C
from althan.dsp.context import Ctx, Effects, Handled, Reject, Route, Services
from althan.dsp.duis_io import Request
from althan.duis.srv import SERVICE_FOR_CV, SIGNED_PRE_COMMAND_CVS, SrvInfo
from althan.model import UserRole


@dataclass
class Call:
    """A request on its way through the steps, with what the steps have established."""

    conn: Connection
    req: Request
    service: str  # the DUIS web service it was POSTed to: "D", "S" or "T"
    now: datetime
    services: Services
    routes: Mapping[str, Route]
    effects: Effects
    roles: frozenset[UserRole] = frozenset()
    last_counter: int | None = None
    raw: bytes = b""
    """The request as received (signed XML): what quarantine keeps."""
    claims_counter: bool = True
    """False for a released quarantined request: it claimed its counter on arrival."""
    claimed: bool | None = None
    """Whether `registered_user` already moved the user's counter (one round trip for both):
    `fresh_counter` then refuses or passes on that result. None: not tried."""
    _srv: SrvInfo | None = None
    _route: Route | None = None

    @property
    def srv(self) -> SrvInfo:
        assert self._srv is not None, "known_service runs before"
        return self._srv

    @property
    def route(self) -> Route:
        assert self._route is not None, "routed runs before"
        return self._route

    @property
    def reuses_request_id(self) -> bool:
        """A Signed Pre-Command (CV 5/6/7) carries the RequestID of its CV 4 Transform: it
        claims no new counter and is not recorded again."""
        return _signed_pre_command(self.srv, self.req.command_variant)


def _signed_pre_command(srv: SrvInfo | None, command_variant: int) -> bool:
    return srv is not None and srv.critical and command_variant in SIGNED_PRE_COMMAND_CVS


Next = Callable[[Call], Handled]
Step = Callable[[Call, Next], Handled]


def registered_user(call: Call, call_next: Next) -> Handled:
    req = call.req
    # the counter is claimed here with the roles read, in one statement: the steps up to
    # `fresh_counter` touch no store, and a refusal rolls the claim back with the rest
    if call.claims_counter and not _reuses_request_id(call):
        roles = users.claim_counter_roles(call.conn, req.originator, req.counter)
        call.claimed = roles is not None
        if roles is not None:
            call.roles = roles
            return call_next(call)
    found = users.roles_of(call.conn, req.originator)
    if found is None:
        raise Reject(C.E2, f"user {req.originator} is not a registered DCC user")
    call.roles, call.last_counter = found
    return call_next(call)


def _reuses_request_id(call: Call) -> bool:
    """`Call.reuses_request_id` before `known_service` has run (an unknown SRV claims: it is
    refused, and the claim rolled back)."""
    srv = call.services.srvs.get(call.req.service_reference_variant)
    return _signed_pre_command(srv, call.req.command_variant)


def signer_is_originator(call: Call, call_next: Next) -> Handled:
    req = call.req
    if req.signer != req.originator:
        raise Reject(C.E4, f"signed by {req.signer}, RequestID originator {req.originator}")
    return call_next(call)


def known_service(call: Call, call_next: Next) -> Handled:
    req = call.req
    srv = call.services.srvs.get(req.service_reference_variant)
    if srv is None:
        raise Reject(C.E21, f"{req.service_reference_variant} is not supported by althan")
    if srv.reference != req.service_reference:
        raise Reject(
            C.E19,
            f"ServiceReferenceVariant {req.service_reference_variant} "
            f"is not of ServiceReference {req.service_reference}",
        )
    call._srv = srv
    return call_next(call)


def eligible_role(call: Call, call_next: Next) -> Handled:
    srv = call.srv
    if not call.roles & srv.roles:
        raise Reject(C.E3, f"roles {sorted(call.roles)} may not send {srv.variant} ({srv.name})")
    return call_next(call)


def allowed_command_variant(call: Call, call_next: Next) -> Handled:
    cv = call.req.command_variant
    if cv not in call.srv.allowed_command_variants():
        raise Reject(C.E11, f"CommandVariant {cv} not allowed for {call.srv.variant}")
    return call_next(call)


def right_web_service(call: Call, call_next: Next) -> Handled:
    cv = call.req.command_variant
    if SERVICE_FOR_CV.get(cv) != call.service:
        raise Reject(
            C.E100,
            f"CommandVariant {cv} goes to service{SERVICE_FOR_CV.get(cv)}, "
            f"not service{call.service}",
        )
    return call_next(call)


def non_device_targets_dcc(call: Call, call_next: Next) -> Handled:
    dcc = call.services.settings.dcc_eui
    if call.srv.non_device and call.req.target != dcc:
        raise Reject(C.E13, f"a non-device request must target the DCC {dcc}")
    return call_next(call)


def routed(call: Call, call_next: Next) -> Handled:
    route = call.routes.get(call.srv.variant)
    if route is None:
        raise Reject(C.E21, f"{call.srv.variant} {call.srv.name} is not supported by althan")
    carried = etree.QName(call.req.body).localname
    if route.body is not None and carried != route.body:
        raise Reject(C.E19, f"{call.srv.variant} carries sr:{route.body}, not sr:{carried}")
    call._route = route
    return call_next(call)


def fresh_counter(call: Call, call_next: Next) -> Handled:
    req = call.req
    if call.reuses_request_id:
        return call_next(call)
    claimed = call.claimed
    if claimed is None:
        claimed = users.claim_counter(call.conn, req.originator, req.counter)
    if not claimed:
        raise Reject(C.E12, f"counter {req.counter} not greater than {call.last_counter}")
    return call_next(call)


def recorded(call: Call, call_next: Next) -> Handled:
    handled = call_next(call)
    if call.reuses_request_id:
        return handled
    try:
        requests.record(
            call.conn,
            call.req.request_id,
            call.srv.variant,
            call.now,
            handled.code.code,
            handled.device_count,
        )
    except IntegrityError as exc:  # pragma: no cover - the counter guard comes first
        raise Reject(C.E12, f"RequestID {call.req.request_id} already used") from exc
    return handled


def run_handler(call: Call) -> Handled:
    ctx = Ctx(call.conn, call.req, call.roles, call.srv, call.now, call.services, call.effects)
    return call.route.handle(ctx)


STEPS: Final[tuple[Step, ...]] = (
    registered_user,
    signer_is_originator,
    known_service,
    eligible_role,
    allowed_command_variant,
    right_web_service,
    non_device_targets_dcc,
    routed,
    fresh_counter,
    anomaly.anomaly_detection,
    recorded,
)
"""The rules every request passes, in order, before its SRV's handler."""

RELEASE_SKIPS: Final[frozenset[Step]] = frozenset({fresh_counter})
"""What a released quarantined request does not do again: it claimed its counter on arrival."""


def release_steps(steps: Sequence[Step]) -> tuple[Step, ...]:
    """The pipeline for a quarantined request a DCC operator releases: `steps` without
    anomaly detection (it was detected) and without `RELEASE_SKIPS`. Empty when `steps` has
    no anomaly detection (nothing is ever quarantined)."""
    if anomaly.anomaly_detection not in steps:
        return ()
    return tuple(s for s in steps if s is not anomaly.anomaly_detection and s not in RELEASE_SKIPS)


def compose(steps: Sequence[Step], endpoint: Next = run_handler) -> Next:
    """One callable that runs `steps` in order, then `endpoint`."""
    app = endpoint
    for step in reversed(steps):

        def wrapped(call: Call, _step: Step = step, _next: Next = app) -> Handled:
            return _step(call, _next)

        app = wrapped
    return app
