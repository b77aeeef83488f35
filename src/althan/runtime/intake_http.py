"""The HTTP API by which a supplier submits its upgrade outcomes to AltHANCo
(`althan.dsp.intake`), authenticated as that supplier (`althan.smki.request_signature`).

``POST <prefix>`` with a JSON (``application/json``) or CSV (``text/csv``) body, signed with the
supplier's registered XML-signing key. Answers, as JSON:

- 201 the submission was kept: ``submission``, ``supplier``, ``submission_ref``,
  ``outcomes`` and its reconciliation (``discrepancies``); 200 the same submission again;
- 400 malformed (``error``, ``line``); 401 not authenticated (headers missing, user unknown or
  without a certificate, signature not valid); 403 not a supplier, or a submission for another
  supplier's devices; 409 the submission ID was used for another body; 413 too large.

Nothing is stored unless the answer is 201. `intake_routes` builds it; the service runtime
serves it at ``/api/v1/althanco/intake`` (`PREFIX`), beside the DUIS web services.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from althan.dsp import intake, users
from althan.dsp.service import Dsp
from althan.model import EUI64, UserRole
from althan.runtime.duis_http import read_capped
from althan.smki.request_signature import (
    SIGNATURE_HEADER,
    SUBMISSION_HEADER,
    USER_HEADER,
    BadSignature,
    media_type,
    verify_request,
)

PREFIX = "/api/v1/althanco/intake"
SUPPLIER_ROLES = frozenset({UserRole.IS, UserRole.GS})

Clock = Callable[[], datetime]


class Refused(Exception):
    def __init__(self, status: int, error: str, line: int | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.line = line


def _authenticate(dsp: Dsp, request: Request, body: bytes) -> EUI64:
    """The supplier who signed this request (Refused 401 / 403 otherwise)."""
    h = request.headers
    user_text, submission, signature = (
        h.get(USER_HEADER),
        h.get(SUBMISSION_HEADER),
        h.get(SIGNATURE_HEADER),
    )
    if not (user_text and submission and signature):
        raise Refused(
            401, f"sign the request: {USER_HEADER}, {SUBMISSION_HEADER}, {SIGNATURE_HEADER}"
        )
    try:
        user = EUI64.parse(user_text)
    except ValueError as exc:
        raise Refused(401, f"{USER_HEADER} {user_text!r}: {exc}") from None
    with dsp.engine.connect() as conn:
        record = users.get(conn, user)
    if record is None or record.cert_pem is None:
        raise Refused(401, f"{user} is not a DCC user with a registered certificate")
    key = x509.load_pem_x509_certificate(record.cert_pem.encode()).public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Refused(401, f"{user}'s certificate has no EC key")
    try:
        verify_request(
            key,
            signature,
            method=request.method,
            path=request.url.path,
            user=user,
            submission=submission,
            content_type=h.get("content-type", ""),
            body=body,
        )
    except BadSignature as exc:
        raise Refused(401, str(exc)) from None
    if not record.roles & SUPPLIER_ROLES:
        raise Refused(403, f"{user} is not a supplier (roles IS or GS)")
    return user


def submit(dsp: Dsp, request: Request, body: bytes, now: datetime) -> JSONResponse:
    """One submission, authenticated, kept and reconciled in one transaction."""
    try:
        if len(body) > intake.MAX_BODY:
            raise Refused(413, f"{len(body):,} bytes: at most {intake.MAX_BODY:,}")
        supplier = _authenticate(dsp, request, body)
        rec = intake.keep(
            dsp.engine,
            supplier,
            request.headers[SUBMISSION_HEADER],
            media_type(request.headers.get("content-type", "")),
            body,
            now,
        )
    except Refused as exc:
        return JSONResponse({"error": exc.error, "line": exc.line}, status_code=exc.status)
    except intake.SubmissionInvalid as exc:
        return JSONResponse({"error": str(exc), "line": exc.line}, status_code=400)
    except intake.SubmissionRefused as exc:
        return JSONResponse({"error": str(exc), "line": None}, status_code=403)
    except intake.SubmissionConflict as exc:
        return JSONResponse({"error": str(exc), "line": None}, status_code=409)
    return JSONResponse(rec.as_json(), status_code=200 if rec.submission.repeated else 201)


def intake_routes(dsp: Dsp, clock: Clock) -> list[Route]:
    """The intake API over `dsp`, reading the time from `clock`, at `PREFIX`."""

    async def post_outcomes(request: Request) -> JSONResponse:
        body = await read_capped(request, intake.MAX_BODY)
        if body is None:
            return JSONResponse(
                {"error": f"at most {intake.MAX_BODY:,} bytes", "line": None}, status_code=413
            )
        return await run_in_threadpool(submit, dsp, request, body, clock())

    return [Route(PREFIX, post_outcomes, methods=["POST"], name="althanco-intake")]
