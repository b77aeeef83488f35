"""Fixtures of the SSI tests: a commissioned Alt HAN world whose store the served SSI reads,
its accounts, the served gateway (SSI mounted at /ssi), and Debian's Chromium driven by
Playwright (the system binary: Playwright's own browser download is not used)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ssi_support import CHROMIUM_ARGS, Served, add_accounts, gateway_app, world_clock

from althan.han.topology import generate_fleet
from althan.runtime.scenario import Scenario
from althan.runtime.world import at

CHROMIUM = Path("/usr/bin/chromium")
HOMES, SEED = 6, 5


@pytest.fixture(scope="module")
def alt_world(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """Six homes, every bridge pre-notified (12.2 with its variant), whitelisted and
    commissioned by the ZAZ1 test supplier through the real DSP; the SSI accounts added."""
    fleet = generate_fleet(HOMES, SEED)
    w = Scenario(fleet, tmp_path_factory.mktemp("ssi-world"), seed=SEED)
    w.install(list(fleet.bridges()))
    add_accounts(w.engine, at(w.now()))
    return w


@pytest.fixture(scope="module")
def served(alt_world: Scenario) -> Iterator[Served]:
    s = Served(gateway_app(alt_world.assembly, world_clock(alt_world)))
    yield s
    s.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), "Debian's chromium is needed (make setup installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page, 1280x900."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    yield p
    ctx.close()
