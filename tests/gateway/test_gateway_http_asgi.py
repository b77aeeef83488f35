"""What the DUIS gateway's ASGI application sends, message by message, for each case its HTTP
edge handles (issue 16): pinned against the Starlette-routed app it replaced, so that the lean
path answers every one of them exactly as that did — status, header order and values, body,
what it reads of the request, what it raises."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from althan.dsp.service import DuisReply
from althan.runtime.assemble import Assembly
from althan.runtime.dispatcher import OutboxDispatcher
from althan.runtime.duis_http import INLINE_BELOW, MAX_BODY
from althan.runtime.service import create_app
from althan.supplier.client import DuisClient
from gateway_support import FakeClock

XML_HEADERS = [(b"content-type", b"application/xml")]
NOT_ALLOWED = [
    {
        "type": "http.response.start",
        "status": 405,
        "headers": [
            (b"allow", b"POST"),
            (b"content-length", b"18"),
            (b"content-type", b"text/plain; charset=utf-8"),
        ],
    },
    {"type": "http.response.body", "body": b"Method Not Allowed"},
]
NOT_FOUND = [
    {
        "type": "http.response.start",
        "status": 404,
        "headers": [(b"content-length", b"9"), (b"content-type", b"text/plain; charset=utf-8")],
    },
    {"type": "http.response.body", "body": b"Not Found"},
]
SERVER_ERROR = [
    {
        "type": "http.response.start",
        "status": 500,
        "headers": [(b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")],
    },
    {"type": "http.response.body", "body": b"Internal Server Error"},
]


class Exchange:
    """One ASGI call: the messages the app received (from `inbox`, then a disconnect) and sent."""

    def __init__(self, inbox: Sequence[Message]) -> None:
        self.inbox = list(inbox)
        self.received = 0
        self.sent: list[Message] = []
        self.scope: dict[str, Any] = {}

    async def receive(self) -> Message:
        self.received += 1
        return self.inbox.pop(0) if self.inbox else {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def call(
    app: Any,
    method: str,
    path: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    bodies: Sequence[bytes] = (b"",),
    *,
    root_path: str = "",
    kind: str = "http",
) -> Exchange:
    """`app` called with an HTTP (or `kind`) scope, the request body in `bodies` chunks."""
    scope = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": list(headers),
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    last = len(bodies) - 1
    ex = Exchange(
        [{"type": "http.request", "body": b, "more_body": i < last} for i, b in enumerate(bodies)]
    )

    ex.scope = scope

    async def run() -> None:
        await app(scope, ex.receive, ex.send)

    anyio.run(run)
    return ex


def refusal(status: int, code: str, text: str) -> list[Message]:
    body = f"{code} {text}\n".encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"x-duis-response-code", code.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"text/plain; charset=utf-8"),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def answer(reply: DuisReply) -> list[Message]:
    return [
        {
            "type": "http.response.start",
            "status": reply.http_status,
            "headers": [
                (b"x-duis-response-code", reply.response_code.encode()),
                (b"content-length", str(len(reply.body)).encode()),
                (b"content-type", reply.media_type.encode()),
            ],
        },
        {"type": "http.response.body", "body": reply.body},
    ]


TOO_LARGE = refusal(413, "E100", f"request larger than {MAX_BODY} bytes")


@pytest.fixture
def dispatcher(assembly: Assembly) -> Iterator[OutboxDispatcher]:
    d = OutboxDispatcher(assembly.dsp)
    yield d
    d.client.close()


@pytest.fixture
def app(assembly: Assembly, clock: FakeClock, dispatcher: OutboxDispatcher) -> Any:
    return create_app(assembly, clock=clock, dispatcher=dispatcher)


@pytest.fixture
def replies(assembly: Assembly, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The DSP answers every request with `reply` (set by the test); what it was asked and in
    which thread."""
    asked: list[tuple[Any, ...]] = []

    def handle(service: str, body: bytes, now: Any) -> DuisReply:
        asked.append((service, body, now, threading.current_thread()))
        return REPLY[0]

    monkeypatch.setattr(assembly.dsp, "handle_duis", handle)
    return asked


REPLY = [DuisReply(200, b"<ok/>", "I0")]


@pytest.mark.parametrize("service", ["D", "S", "T"])
def test_a_signed_request_is_answered_by_the_dsp(
    app: Any, assembly: Assembly, supplier: DuisClient, service: str
) -> None:
    req = supplier.read_inventory(supplier.user)
    ex = call(app, "POST", f"/api/v1/service{service}", XML_HEADERS, [req.xml])
    start, body = ex.sent
    assert start["status"] == 200 or service != req.service
    names = [k for k, _ in start["headers"]]
    assert names == [b"x-duis-response-code", b"content-length", b"content-type"]
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/xml"
    assert headers[b"content-length"] == str(len(body["body"])).encode()
    assert body["type"] == "http.response.body" and body["body"].startswith(b"<")
    assert ex.received == 1


def test_the_answer_is_the_dsps_reply_byte_for_byte(
    app: Any, clock: FakeClock, replies: list[tuple[Any, ...]]
) -> None:
    for reply in [
        DuisReply(200, b"<ok/>", "I0"),
        DuisReply(400, b"<no/>", "E20", media_type="text/xml"),
        DuisReply(503, b"busy", "E53", media_type="text/plain"),
        DuisReply(206, b"", "W1", media_type="text/plain; charset=latin-1"),
    ]:
        REPLY[0] = reply
        ex = call(app, "POST", "/api/v1/serviceS", XML_HEADERS, [b"<a/>", b"", b"<b/>"])
        ctype = reply.media_type.encode()
        if ctype in (b"text/xml", b"text/plain"):
            ctype += b"; charset=utf-8"
        want = answer(reply)
        want[0]["headers"][2] = (b"content-type", ctype)
        assert ex.sent == want
    REPLY[0] = DuisReply(200, b"<ok/>", "I0")
    assert [(s, b, t) for s, b, t, _ in replies] == [("S", b"<a/><b/>", clock())] * 4


def test_only_the_first_content_type_counts_and_its_parameters_and_case_do_not(
    app: Any, replies: list[tuple[Any, ...]]
) -> None:
    for ctype in [b"application/xml", b"text/xml", b" Application/XML ; charset=utf-8"]:
        ex = call(app, "POST", "/api/v1/serviceD", [(b"content-type", ctype)], [b"<a/>"])
        assert ex.sent == answer(REPLY[0])
    two = [(b"content-type", b"text/xml"), (b"content-type", b"text/plain")]
    assert call(app, "POST", "/api/v1/serviceD", two, [b"<a/>"]).sent == answer(REPLY[0])
    assert len(replies) == 4


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ([], "''"),
        ([(b"content-type", b"application/json")], "'application/json'"),
        ([(b"content-type", b"TEXT/Plain; charset=utf-8")], "'text/plain'"),
        ([(b"content-type", b"application/xml+x")], "'application/xml+x'"),
        ([(b"content-type", b"text/plain"), (b"content-type", b"text/xml")], "'text/plain'"),
        ([(b"content-type", b"caf\xe9/xml")], "'caf\xe9/xml'"),
    ],
)
def test_any_other_content_type_is_refused_before_the_body_is_read(
    app: Any, replies: list[tuple[Any, ...]], headers: list[tuple[bytes, bytes]], shown: str
) -> None:
    ex = call(app, "POST", "/api/v1/serviceT", headers, [b"<a/>"])
    assert ex.sent == refusal(415, "E19", f"content type must be application/xml, not {shown}")
    assert ex.received == 0 and replies == []


@pytest.mark.parametrize("declared", [str(MAX_BODY + 1), "99999999999999999999", "abc", "", "1.5"])
def test_a_declared_length_over_the_cap_or_unreadable_is_refused_before_reading(
    app: Any, replies: list[tuple[Any, ...]], declared: str
) -> None:
    headers = [*XML_HEADERS, (b"content-length", declared.encode())]
    ex = call(app, "POST", "/api/v1/serviceD", headers, [b"<a/>"])
    assert ex.sent == TOO_LARGE
    assert ex.received == 0 and replies == []


@pytest.mark.parametrize("declared", [str(MAX_BODY), "4", " 4 ", "+4", "-1", "0", "4_0"])
def test_a_declared_length_within_the_cap_reads_the_body_whatever_it_is(
    app: Any, replies: list[tuple[Any, ...]], declared: str
) -> None:
    headers = [*XML_HEADERS, (b"content-length", declared.encode()), (b"content-length", b"x")]
    ex = call(app, "POST", "/api/v1/serviceD", headers, [b"<a/>"])
    assert ex.sent == answer(REPLY[0])
    assert [b for _, b, _, _ in replies] == [b"<a/>"]


def test_a_body_over_the_cap_is_refused_as_soon_as_it_passes_it(
    app: Any, replies: list[tuple[Any, ...]]
) -> None:
    block = b"x" * 1_000_000
    chunks = [block] * (MAX_BODY // len(block)) + [b"y", b"z" * 10]
    ex = call(app, "POST", "/api/v1/serviceD", XML_HEADERS, chunks)
    assert ex.sent == TOO_LARGE
    assert ex.received == MAX_BODY // len(block) + 1
    assert len(ex.inbox) == 1 and replies == []
    at_cap = call(app, "POST", "/api/v1/serviceD", XML_HEADERS, [block] * (MAX_BODY // len(block)))
    assert at_cap.sent == answer(REPLY[0])


def test_a_small_body_is_handled_on_the_loop_a_large_one_in_a_worker_thread(
    app: Any, replies: list[tuple[Any, ...]]
) -> None:
    for size in [0, INLINE_BELOW, INLINE_BELOW + 1]:
        assert call(app, "POST", "/api/v1/serviceD", XML_HEADERS, [b"a" * size]).sent == answer(
            REPLY[0]
        )
    threads = [t for _, _, _, t in replies]
    assert threads[0] is threads[1] is threading.current_thread()
    assert threads[2] is not threading.current_thread()
    assert [len(b) for _, b, _, _ in replies] == [0, INLINE_BELOW, INLINE_BELOW + 1]


def test_the_dispatcher_is_woken_after_a_request_that_queued_something(
    app: Any, dispatcher: OutboxDispatcher, replies: list[tuple[Any, ...]]
) -> None:
    call(app, "POST", "/api/v1/serviceD", XML_HEADERS, [b"<a/>"])
    assert not dispatcher.wake.is_set()
    REPLY[0] = DuisReply(200, b"<ok/>", "I0", queued=True)
    try:
        assert call(app, "POST", "/api/v1/serviceD", XML_HEADERS, [b"<a/>"]).sent == answer(
            REPLY[0]
        )
    finally:
        REPLY[0] = DuisReply(200, b"<ok/>", "I0")
    assert dispatcher.wake.is_set()


def test_a_client_gone_while_its_body_streams_is_let_go_quietly(
    app: Any, replies: list[tuple[Any, ...]]
) -> None:
    """Nothing reached the DSP, and there is no one to answer: no 500 attempted, and no
    exception for the server to log as an application error (Starlette's routed endpoint
    raised ClientDisconnect here)."""
    ex = Exchange([{"type": "http.request", "body": b"<a", "more_body": True}])
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/serviceD",
        "root_path": "",
        "headers": XML_HEADERS,
    }

    async def run() -> None:
        await app(scope, ex.receive, ex.send)

    anyio.run(run)
    assert ex.sent == []
    assert ex.received == 2 and replies == []


def test_an_error_in_the_dsp_is_a_500_and_is_raised(
    app: Any, assembly: Assembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(service: str, body: bytes, now: Any) -> DuisReply:
        raise LookupError("broken")

    monkeypatch.setattr(assembly.dsp, "handle_duis", broken)
    sent: list[Message] = []

    async def run() -> None:
        path = "/api/v1/serviceS"
        scope = {"type": "http", "method": "POST", "path": path, "headers": XML_HEADERS}

        async def receive() -> Message:
            return {"type": "http.request", "body": b"<a/>"}

        async def send(m: Message) -> None:
            sent.append(m)

        await app(scope, receive, send)

    with pytest.raises(LookupError, match="broken"):
        anyio.run(run)
    assert sent == SERVER_ERROR


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "post"])
def test_another_method_on_a_duis_path_is_405_allow_post(
    app: Any, replies: list[tuple[Any, ...]], method: str
) -> None:
    for service in "DST":
        ex = call(app, method, f"/api/v1/service{service}", XML_HEADERS, [b"<a/>"])
        assert ex.sent == NOT_ALLOWED and ex.received == 0
    assert replies == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/serviceD/",
        "/api/v1/serviceX",
        "/api/v1/servicED",
        "/api/v1/serviceDD",
        "//api/v1/serviceD",
        "/api/v1/service",
        "/api/v1/serviceD\n\n",
        "api/v1/serviceD",
        "/API/v1/serviceD",
    ],
)
def test_no_other_path_is_a_duis_service_nor_redirected_to_one(
    app: Any, replies: list[tuple[Any, ...]], path: str
) -> None:
    for method in ["POST", "GET"]:
        assert call(app, method, path, XML_HEADERS, [b"<a/>"]).sent == NOT_FOUND
    assert replies == []


def test_a_path_with_one_trailing_newline_is_still_the_service(
    app: Any, replies: list[tuple[Any, ...]]
) -> None:
    """Starlette's route pattern ends in ``$``, which matches before a final newline."""
    ex = call(app, "POST", "/api/v1/serviceT\n", XML_HEADERS, [b"<a/>"])
    assert ex.sent == answer(REPLY[0])
    assert call(app, "GET", "/api/v1/serviceT\n").sent == NOT_ALLOWED
    assert [s for s, _, _, _ in replies] == ["T"]


@pytest.mark.parametrize(
    ("root_path", "path", "service"),
    [
        ("/dcc", "/dcc/api/v1/serviceD", "D"),
        ("/dcc", "/api/v1/serviceS", "S"),
        ("/api/v1/service", "/api/v1/serviceT", "T"),  # a prefix only up to a "/"
        ("/api", "/api/v1/serviceT", None),
        ("/api/v1/serviceD", "/api/v1/serviceD", None),
        ("/dcc", "/dcc", None),
        ("/dcc", "/dccapi/v1/serviceD", None),
    ],
)
def test_the_root_path_is_taken_off_as_starlette_takes_it(
    app: Any,
    replies: list[tuple[Any, ...]],
    root_path: str,
    path: str,
    service: str | None,
) -> None:
    ex = call(app, "POST", path, XML_HEADERS, [b"<a/>"], root_path=root_path)
    if service is None:
        assert ex.sent == NOT_FOUND and replies == []
    else:
        assert ex.sent == answer(REPLY[0])
        assert [s for s, _, _, _ in replies] == [service]


def test_a_websocket_to_a_duis_path_is_closed(app: Any, replies: list[tuple[Any, ...]]) -> None:
    ex = call(app, "GET", "/api/v1/serviceD", kind="websocket")
    assert ex.sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]
    assert replies == []


def test_the_lifespan_starts_and_stops_the_background_workers(
    assembly: Assembly, clock: FakeClock
) -> None:
    events: list[str] = []

    class Network:
        def start(self) -> None:
            events.append("start")

        def stop(self) -> None:
            events.append("stop")

    app = create_app(assembly, clock=clock, network=Network())
    ex = Exchange([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def run() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, ex.receive, ex.send)

    anyio.run(run)
    assert events == ["start", "stop"]
    assert ex.sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


def test_the_other_routes_are_the_starlette_apps(assembly: Assembly, clock: FakeClock) -> None:
    ex = call(create_app(assembly, clock=clock), "GET", "/api/v1/althanco/intake")
    assert ex.sent[0]["status"] == 405
    assert dict(ex.sent[0]["headers"])[b"allow"] == b"POST"


def test_a_duis_post_takes_the_short_cut_past_starlette(
    app: Any, replies: list[tuple[Any, ...]]
) -> None:
    """Starlette marks each scope it routes (``app``, ``router``, ``endpoint``): the DUIS
    POSTs never reach it, everything else does."""
    assert isinstance(app.app, Starlette)
    fast = call(app, "POST", "/api/v1/serviceD", XML_HEADERS, [b"<a/>"])
    assert fast.sent == answer(REPLY[0])
    assert not {"app", "router", "endpoint"} & set(fast.scope)
    for method, path in [("GET", "/api/v1/serviceD"), ("POST", "/api/v1/serviceD/")]:
        assert call(app, method, path).scope["app"] is app.app
