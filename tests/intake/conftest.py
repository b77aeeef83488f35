"""A rolled-out sim world whose DSP also serves HTTP (a real uvicorn server on a free port):
suppliers submit their upgrade outcomes to its intake."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from intake_support import FOREIGN, NEW, Served

from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.han.topology import generate_fleet
from althan.runtime.assemble import OTHER_USER_EUI
from althan.runtime.scenario import Scenario, by_model
from althan.runtime.service import create_app
from althan.runtime.world import at


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data = tmp_path / "data"
    fleet = generate_fleet(4, 21)
    w = Scenario(fleet, data, seed=21)
    bridges = list(fleet.bridges())
    w.install(bridges)
    images = w.assure(bridges, NEW, 1024)
    # every bridge but one of the biggest model gets the new image
    _model, group = max(by_model(bridges).items(), key=lambda kv: len(kv[1]))
    left = [group[-1]]
    done = [(h, b) for h, b in bridges if b.eui != left[0].eui]
    w.update_firmware(done, images, NEW)
    home = fleet.homes[0]
    with w.engine.begin() as conn:
        seed_inventory(
            conn,
            [
                InventoryDevice(
                    FOREIGN,
                    "PPMID",
                    "1A1C",
                    "0B010001",
                    "00010000",
                    home.region.value,
                    home.chf,
                    OTHER_USER_EUI,
                )
            ],
            at(w.now()),
        )
    config = uvicorn.Config(
        create_app(w.assembly, clock=lambda: at(w.now())),
        host="127.0.0.1",
        port=0,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(w, f"http://127.0.0.1:{port}", data, [b for _h, b in done], left)
    server.should_exit = True
    thread.join(10)
