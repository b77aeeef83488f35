"""The DUIS web services over HTTP: ``POST /api/v1/service{D,S,T}``, as DCC Boxed serves them.

The HTTP edge checks what it can before the DSP sees a byte: the method and path (exact: no
trailing-slash redirect, which would echo the client's Host header back), the content type
(``application/xml``), and the size — refused from ``Content-Length`` before reading, and while
streaming the body, so an oversize body is never held in memory. What passes is handed, with
the time read here, to `Dsp.handle_duis` (on the event loop, or in a worker thread when it is
large); the answer is the DSP's.

Each service is a plain ASGI application (`DuisService`), read from the scope and ``receive``
and answered with ``send`` — no Request or Response objects: `althan.runtime.fast_path` hands
it its POSTs directly, and `duis_routes` puts it in the Starlette app too, where the methods
other than POST get Starlette's 405. It answers as the Starlette endpoint it replaced did,
message for message, down to the 500 of Starlette's ServerErrorMiddleware when it raises; but a
client gone before its body was whole is let go without an answer or an error (nothing reached
the DSP).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from althan.dsp.service import Dsp

Clock = Callable[[], datetime]
Headers = list[tuple[bytes, bytes]]
XML = "application/xml"
XML_TYPES = frozenset({"application/xml", "text/xml"})
SERVICES = ("D", "S", "T")
MAX_BODY = 14_000_000
"""The largest DUIS request: an 11.4 with a 10,240,000-byte image (13.7 MB of base64)."""
INLINE_BELOW = 65_536
"""A request up to this size is handled on the event loop: handing it to a worker thread
costs more than most requests' own work. A larger one (an 11.4 carrying its image) goes to a
worker thread, so that it does not hold up the other connections while it is processed."""
SERVER_ERROR = b"Internal Server Error"
"""What Starlette's ServerErrorMiddleware answers an exception with (not in debug mode)."""


def declared_over(declared: str | None, limit: int) -> bool:
    """A ``Content-Length`` over `limit`, or one that is not a number."""
    if declared is None:
        return False
    try:
        return int(declared) > limit
    except ValueError:
        return True


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes (`receive_capped` on
    the request's own ``receive``)."""
    return await receive_capped(request.receive, request.headers.get("content-length"), limit)


async def receive_capped(receive: Receive, declared: str | None, limit: int) -> bytes | None:
    """The body from ``receive``, or None as soon as it is known to exceed `limit` bytes (from
    the `declared` Content-Length before reading, or while streaming); a disconnect raises
    `ClientDisconnect`."""
    if declared_over(declared, limit):
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def content_type(media_type: str) -> bytes:
    """The Content-Type a Starlette `Response` sends for `media_type`."""
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        media_type += "; charset=utf-8"
    return media_type.encode("latin-1")


def response_start(status: int, headers: Headers, media_type: str, body: bytes) -> Headers:
    """`headers`, then Content-Length and Content-Type as a Starlette `Response` adds them."""
    if not (status < 200 or status in (204, 304)):
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
    headers.append((b"content-type", content_type(media_type)))
    return headers


def refusal(status: int, code: str, text: str) -> tuple[int, Headers, bytes]:
    body = f"{code} {text}\n".encode()
    headers = [(b"x-duis-response-code", code.encode("latin-1"))]
    return status, response_start(status, headers, "text/plain", body), body


async def respond(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class DuisService:
    """``POST /api/v1/service<name>`` of `dsp`, as an ASGI application; `after_request` runs
    after each request that put something in the outbox (the outbox dispatcher is woken
    there)."""

    __slots__ = ("after_request", "clock", "dsp", "inline_below", "max_body", "name", "path")

    def __init__(
        self,
        name: str,
        dsp: Dsp,
        clock: Clock,
        *,
        after_request: Callable[[], None] = lambda: None,
        max_body: int = MAX_BODY,
        inline_below: int = INLINE_BELOW,
    ) -> None:
        self.name = name
        self.path = f"/api/v1/service{name}"
        self.dsp = dsp
        self.clock = clock
        self.after_request = after_request
        self.max_body = max_body
        self.inline_below = inline_below

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status, headers, body = await self.answer(scope, receive)
        except ClientDisconnect:
            return  # gone before its request was whole: nothing was done, no one to answer
        except Exception:
            await respond(
                send, 500, response_start(500, [], "text/plain", SERVER_ERROR), SERVER_ERROR
            )
            raise
        await respond(send, status, headers, body)

    async def answer(self, scope: Scope, receive: Receive) -> tuple[int, Headers, bytes]:
        """The status, headers and body of the answer to the request."""
        ctype: str | None = None
        declared: str | None = None
        for key, value in scope["headers"]:
            if key == b"content-type" and ctype is None:
                ctype = value.decode("latin-1")
            elif key == b"content-length" and declared is None:
                declared = value.decode("latin-1")
        ctype = (ctype or "").split(";", 1)[0].strip().lower()
        if ctype not in XML_TYPES:
            return refusal(415, "E19", f"content type must be {XML}, not {ctype!r}")
        body = await receive_capped(receive, declared, self.max_body)
        if body is None:
            return refusal(413, "E100", f"request larger than {self.max_body} bytes")
        if len(body) <= self.inline_below:
            reply = self.dsp.handle_duis(self.name, body, self.clock())
        else:
            reply = await run_in_threadpool(self.dsp.handle_duis, self.name, body, self.clock())
        if reply.queued:
            self.after_request()
        code = [(b"x-duis-response-code", reply.response_code.encode("latin-1"))]
        start = response_start(reply.http_status, code, reply.media_type, reply.body)
        return reply.http_status, start, reply.body


def duis_services(
    dsp: Dsp,
    clock: Clock,
    *,
    after_request: Callable[[], None] = lambda: None,
    max_body: int = MAX_BODY,
    inline_below: int = INLINE_BELOW,
) -> dict[str, DuisService]:
    """The three DUIS web services of `dsp`, by path."""
    services = [
        DuisService(
            s, dsp, clock, after_request=after_request, max_body=max_body, inline_below=inline_below
        )
        for s in SERVICES
    ]
    return {s.path: s for s in services}


def duis_routes(services: Mapping[str, DuisService]) -> list[Route]:
    """`services` as Starlette routes (POST only: another method is answered 405)."""
    return [
        Route(path, s, methods=["POST"], name=f"service{s.name}") for path, s in services.items()
    ]
