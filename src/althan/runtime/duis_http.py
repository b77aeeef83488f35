"""The DUIS web services over HTTP: ``POST /api/v1/service{D,S,T}``, as DCC Boxed serves them.

The HTTP edge checks what it can before the DSP sees a byte: the method and path (exact: no
trailing-slash redirect, which would echo the client's Host header back), the content type
(``application/xml``), and the size — refused from ``Content-Length`` before reading, and while
streaming the body, so an oversize body is never held in memory. What passes is handed, with
the time read here, to `Dsp.handle_duis` (on the event loop, or in a worker thread when it is
large); the answer is the DSP's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from althan.dsp.service import Dsp, DuisReply

Clock = Callable[[], datetime]
XML = "application/xml"
XML_TYPES = frozenset({"application/xml", "text/xml"})
SERVICES = ("D", "S", "T")
MAX_BODY = 14_000_000
"""The largest DUIS request: an 11.4 with a 10,240,000-byte image (13.7 MB of base64)."""
INLINE_BELOW = 65_536
"""A request up to this size is handled on the event loop: handing it to a worker thread
costs more than most requests' own work. A larger one (an 11.4 carrying its image) goes to a
worker thread, so that it does not hold up the other connections while it is processed."""


def _refusal(status: int, code: str, text: str) -> Response:
    return Response(
        f"{code} {text}\n".encode(),
        status,
        headers={"X-DUIS-Response-Code": code},
        media_type="text/plain",
    )


def _answer(reply: DuisReply) -> Response:
    return Response(
        reply.body,
        reply.http_status,
        headers={"X-DUIS-Response-Code": reply.response_code},
        media_type=reply.media_type,
    )


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                return None
        except ValueError:
            return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def duis_routes(
    dsp: Dsp,
    clock: Clock,
    *,
    after_request: Callable[[], None] = lambda: None,
    max_body: int = MAX_BODY,
    inline_below: int = INLINE_BELOW,
) -> Sequence[Route]:
    """The three DUIS web services of `dsp`; `after_request` runs after each request that put
    something in the outbox is answered (the outbox dispatcher is woken there)."""

    def service(name: str) -> Route:
        async def endpoint(request: Request) -> Response:
            ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if ctype not in XML_TYPES:
                return _refusal(415, "E19", f"content type must be {XML}, not {ctype!r}")
            body = await read_capped(request, max_body)
            if body is None:
                return _refusal(413, "E100", f"request larger than {max_body} bytes")
            if len(body) <= inline_below:
                reply = dsp.handle_duis(name, body, clock())
            else:
                reply = await run_in_threadpool(dsp.handle_duis, name, body, clock())
            if reply.queued:
                after_request()
            return _answer(reply)

        return Route(f"/api/v1/service{name}", endpoint, methods=["POST"], name=f"service{name}")

    return [service(s) for s in SERVICES]
