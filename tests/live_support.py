"""A served DCC for tests: `althan serve` as a subprocess on free ports, and a user's endpoint.

`Served` starts the real command (the same process a DCC Boxed user points a client at);
`Endpoint` is the user's response endpoint (DCC Boxed's ``/smartdcc/duis`` path) collecting
what the DCC POSTs, each document verified against the DSP's certificate.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from althan.duis.namespaces import SR
from althan.duis.schema import find_tool_jar
from althan.duis.service_requests import RequestBuilder, SignedRequest
from althan.duis.xmldsig import TrustStore, verify
from althan.model import DCC_EUI, TEST_SUPPLIER_EUI
from althan.smki.zaz1 import load_zaz1

import uvicorn  # isort: skip


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def althan(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The `althan` command, as a user runs it."""
    r = subprocess.run(
        [sys.executable, "-m", "althan.cli", *args], capture_output=True, text=True, timeout=120
    )
    assert not check or r.returncode == 0, r.stderr[-2000:]
    return r


def dsp_trust() -> TrustStore:
    """The DSP's certificate (ZAZ1), as a user checks what the DCC sends it."""
    cert, _key = load_zaz1(find_tool_jar())[DCC_EUI]
    return TrustStore([(DCC_EUI, cert)])


def supplier_requests(counter: int = 1_000) -> RequestBuilder:
    """The ZAZ1 test supplier's requests, signed with its ZAZ1 key, counters from `counter`
    (one builder per served store: the counters must increase)."""
    cert, key = load_zaz1(find_tool_jar())[TEST_SUPPLIER_EUI]
    return RequestBuilder(TEST_SUPPLIER_EUI, key, cert, counter=counter)


def devices(data: Path, *args: str) -> list[dict[str, str]]:
    """`althan devices list|spare ARGS --json` on `data`."""
    out = althan("devices", *args, "--json", "--data-dir", str(data)).stdout
    rows: list[dict[str, str]] = json.loads(out.strip().splitlines()[-1])
    return rows


@dataclass
class Received:
    xml: bytes
    root: etree._Element

    def text(self, path: str) -> str | None:
        return self.root.findtext(path)

    @property
    def alert(self) -> str | None:
        return self.root.findtext(f"{SR}Body/{SR}DCCAlertMessage/{SR}DCCAlertCode")

    @property
    def request_id(self) -> str | None:
        return self.root.findtext(f"{SR}Header/{SR}RequestID")

    @property
    def response_code(self) -> str | None:
        return self.root.findtext(f"{SR}Header/{SR}ResponseCode")

    @property
    def response_id(self) -> str | None:
        return self.root.findtext(f"{SR}Header/{SR}ResponseID")


@dataclass
class Endpoint:
    """A user's response endpoint on a free port."""

    trust: TrustStore
    port: int = field(default_factory=free_port)
    got: list[Received] = field(default_factory=list)
    bad: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/smartdcc/duis"

    async def _post(self, request: Request) -> Response:
        body = await request.body()
        try:
            self.got.append(Received(body, verify(body, self.trust).root))
        except Exception:
            self.bad.append(body)
        return Response(status_code=200)

    @contextmanager
    def running(self) -> Iterator[Endpoint]:
        app = Starlette(routes=[Route("/smartdcc/duis", self._post, methods=["POST"])])
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        t = threading.Thread(target=server.run, daemon=True)
        t.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "endpoint did not start"
            time.sleep(0.02)
        try:
            yield self
        finally:
            server.should_exit = True
            t.join(5)

    def wait_for(
        self, want: Callable[[Received], bool], *, count: int = 1, timeout: float = 90.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.got if want(r)]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, (
                f"waited {timeout} s for {count}, got {len(found)}; received: "
                + ", ".join(f"{r.alert or r.response_code}" for r in self.got)
            )
            time.sleep(0.1)


class Served:
    """`althan serve` on free ports, on `data_dir`."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.smki_port = free_port()
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "althan.cli", "serve", "--port", str(self.port),
                 "--smki-port", str(self.smki_port), "--data-dir", str(self.data_dir),
                 *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.post(f"{self.url}/api/v1/serviceD", content=b"", timeout=2)
                return self
            except httpx.TransportError:
                assert self.proc.poll() is None, self.log.read_text()[-3000:]
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)

    def post(self, service: str, xml: bytes) -> tuple[int, str, bytes]:
        r = httpx.post(
            f"{self.url}/api/v1/service{service}",
            content=xml,
            headers={"content-type": "application/xml"},
            timeout=60,
        )
        return r.status_code, r.headers.get("x-duis-response-code", ""), r.content

    def send(self, req: SignedRequest) -> tuple[int, str, bytes]:
        """POST a signed request to the web service its CommandVariant picks."""
        return self.post(req.service, req.xml)

    def kill(self) -> None:
        """`kill -9`: nothing is flushed, nothing is said."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
