"""What the SSI tests share: a served gateway app (uvicorn in a thread, on a free port), a
small commissioned Alt HAN world on the store the SSI reads, accounts, and form helpers."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.routing import Mount
from starlette.testclient import TestClient

from althan.dsp import anomaly
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import Assembly
from althan.runtime.dispatcher import OutboxDispatcher
from althan.runtime.scenario import Scenario
from althan.runtime.service import create_app
from althan.runtime.world import at
from althan.ssi import SsiConfig, accounts, create_ssi_app

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "ssi"
PASSWORD = "correct horse battery"
OTHER_SUPPLIER_EUI = EUI64.parse("00-DB-12-34-56-78-00-04")  # the ZAZ1 "other user"
ACCOUNTS = (
    ("supplier1", accounts.Role.SUPPLIER, TEST_SUPPLIER_EUI),
    ("supplier2", accounts.Role.SUPPLIER, OTHER_SUPPLIER_EUI),
    ("althanco", accounts.Role.ALTHANCO, ALTHANCO_DEFAULT_EUI),
    ("operator", accounts.Role.DCC, None),
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def add_accounts(engine: Any, now: datetime | None = None) -> None:
    with engine.begin() as conn:
        for login, role, eui in ACCOUNTS:
            accounts.add(conn, login, role, eui, PASSWORD, now or datetime.now(UTC))


def gateway_app(
    assembly: Assembly,
    clock: Callable[[], datetime],
    *,
    dispatcher: OutboxDispatcher | None = None,
    config: SsiConfig | None = None,
) -> Any:
    """The DUIS gateway app with the SSI mounted at /ssi (as `althan serve` serves it)."""
    dsp = assembly.dsp
    ssi = create_ssi_app(dsp.engine, dsp.services, clock=clock, config=config, dsp=dsp)
    return create_app(assembly, clock=clock, dispatcher=dispatcher, routes=[Mount("/ssi", ssi)])


class Served:
    """An ASGI app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        cfg = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@dataclass
class Rollout:
    """A supplier's 11.4s through the real DSP, the sim stepped slowly in a thread so that a
    page watching it sees it move. The stepping waits for `go`: a test opens its page first,
    so that a slow browser on a loaded machine cannot miss the whole rollout."""

    world: Scenario
    thread: threading.Thread | None = None
    error: BaseException | None = None
    go: threading.Event = field(default_factory=threading.Event)

    def start(self, images: dict[Any, bytes], bridges: list[Any], version: int) -> None:
        w = self.world
        by_model: dict[Any, list[Any]] = {}
        for _h, b in bridges:
            by_model.setdefault((b.manufacturer_code, b.image_type), []).append(b.eui)
        for key, euis in sorted(by_model.items()):
            w.send(w.supplier.update_ppmid_firmware(images[key], FirmwareVersion(version), euis))
        w.sim.run(max_events=50)  # the 11.4s reach the DSP: the deployment exists

        def step() -> None:
            try:
                self.go.wait(300)
                while w.sim.pending:
                    w.sim.run(max_events=8)
                    time.sleep(0.2)
            except BaseException as exc:  # pragma: no cover - reported by join()
                self.error = exc

        self.thread = threading.Thread(target=step, daemon=True)
        self.thread.start()

    def join(self) -> None:
        assert self.thread is not None
        self.go.set()
        self.thread.join(300)
        assert not self.thread.is_alive(), "the rollout did not finish"
        if self.error is not None:
            raise self.error


def shot(page: Any, name: str) -> None:
    """A full-page screenshot into test-output/ssi/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in_page(page: Any, served: Served, login: str) -> None:
    """Sign in through the browser's sign-in form (the account's password is PASSWORD)."""
    page.goto(f"{served.url}/ssi/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("section.login button")
    page.wait_for_url(re.compile(r".*/ssi/devices.*"))


def limit_8_2(w: Scenario, max_requests: int = 1) -> None:
    """An anomaly-detection threshold: the test supplier's 8.2s, `max_requests` a day."""
    with w.engine.begin() as conn:
        anomaly.set_threshold(
            conn,
            w.assembly.dsp.services.srvs,
            user=TEST_SUPPLIER_EUI,
            srv="8.2",
            max_requests=max_requests,
            max_devices=None,
            window=timedelta(days=1),
            now=world_clock(w)(),
        )


def world_clock(w: Scenario) -> Callable[[], datetime]:
    return lambda: at(w.now())


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "the page has no CSRF token"
    return m.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD, base: str = "/ssi") -> Any:
    page = client.get(f"{base}/login")
    return client.post(
        f"{base}/login",
        data={"login": login, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
