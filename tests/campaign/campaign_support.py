"""A served DCC for campaigns: `althan serve` with a generated fleet, the test supplier's
endpoint registered on a free port (where `campaign run` listens), and helpers to assure an
image, run the `althan campaign` commands and compare a campaign's outcomes with the SMI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from althan.cli.options import store_url
from althan.model import ALTHANCO_DEFAULT_EUI, TEST_SUPPLIER_EUI
from althan.store import open_engine
from althan.store.tables import firmware_deliveries, service_requests
from althan.supplier.campaign_store import CampaignStore
from althan.zigbee.testimage import build_test_image
from live_support import Served, althan, devices, free_port

B1_MANUFACTURER, B1_IMAGE_TYPE = 0x1A1C, 0x0B01


@dataclass
class Dcc:
    """A served DCC and where a campaign listens for it."""

    served: Served
    data: Path
    listen_port: int
    tmp: Path

    @property
    def url(self) -> str:
        return str(self.served.url)

    @property
    def listen(self) -> str:
        return f"127.0.0.1:{self.listen_port}"

    def bridges(self) -> list[dict[str, str]]:
        """The commissioned B1 bridges (one model; hardware versions 1 and 2)."""
        rows: list[dict[str, str]] = devices(
            self.data, "list", "--type", "PPMID", "--status", "Commissioned", "--variant", "B1"
        )
        return rows

    def smi_versions(self) -> dict[str, str]:
        return {d["eui"]: d["firmware_version"] for d in devices(self.data, "list")}

    def image(self, version: int, *, max_hw: int = 2, assure: bool = True) -> Path:
        """A B1 image of `version` for hardware 1 to `max_hw`, assured by AltHANCo
        (`althan cpl add`) when `assure`."""
        path = self.tmp / f"b1-{version:08X}-{max_hw}.ota"
        path.write_bytes(
            build_test_image(B1_MANUFACTURER, B1_IMAGE_TYPE, version, min_hw=1, max_hw=max_hw)
        )
        if assure:
            self.assure(path)
        return path

    def assure(self, path: Path) -> None:
        althan("cpl", "add", str(path), "--as", str(ALTHANCO_DEFAULT_EUI),
               "--data-dir", str(self.data))  # fmt: skip

    def deliveries(self, request_ids: set[str]) -> list[tuple[str, str]]:
        """(RequestID, device) of the DSP's firmware deliveries of these 11.4s."""
        engine = open_engine(store_url(self.data, None, create=False))
        with engine.connect() as conn:
            rows = conn.execute(
                select(firmware_deliveries.c.request_id, firmware_deliveries.c.device)
            ).all()
        engine.dispose()
        return sorted((r[0], str(r[1])) for r in rows if r[0] in request_ids)

    def requests_11_4(self) -> set[str]:
        """Every 11.4 the DSP accepted (its request log)."""
        engine = open_engine(store_url(self.data, None, create=False))
        with engine.connect() as conn:
            rows = conn.execute(
                select(service_requests.c.request_id).where(service_requests.c.srv == "11.4")
            ).scalars()
            out = set(rows)
        engine.dispose()
        return out


def start_dcc(tmp: Path, *args: str, port: int | None = None) -> Dcc:
    data = tmp / "data"
    listen_port = free_port()
    althan("users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
           "--endpoint", f"http://127.0.0.1:{listen_port}/smartdcc/duis",
           "--data-dir", str(data))  # fmt: skip
    served = Served(data, *args)
    if port is not None:
        served.port = port
    served.start()
    return Dcc(served, data, listen_port, tmp)


def campaign(store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`althan campaign ARGS --store STORE`."""
    r = subprocess.run(
        [sys.executable, "-m", "althan.cli", "campaign", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert not check or r.returncode == 0, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r


def create(
    dcc: Dcc, store: Path, name: str, image: Path, euis: list[str], *args: str
) -> subprocess.CompletedProcess[str]:
    devices_file = store.parent / f"{name}-devices.txt"
    devices_file.write_text("\n".join(euis) + "\n")
    return campaign(store, "create", name, "--dcc", dcc.url, "--image", str(image),
                    "--devices", str(devices_file), "--listen", dcc.listen, *args)  # fmt: skip


def status(store: Path, name: str) -> dict[str, object]:
    out = campaign(store, "status", name, "--json").stdout
    st: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return st


def request_ids(store: Path, name: str) -> set[str]:
    s = CampaignStore.open(store)
    try:
        return {x.request_id for x in s.sends(name)}
    finally:
        s.close()


def wait_until(what: str, ok: object, timeout: float = 120.0) -> None:
    assert callable(ok)
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.2)


def assert_matches_smi(st: dict[str, object], smi: dict[str, str], version: int) -> None:
    """Every device of the campaign: activated exactly when the SMI holds the new version."""
    states = st["devices"]
    assert isinstance(states, dict)
    want = f"{version:08X}"
    wrong = {
        eui: (state, smi.get(eui))
        for eui, state in states.items()
        if (state == "activated") != (smi.get(eui) == want)
        or not (state == "activated" or str(state).startswith("failed:"))
    }
    assert wrong == {}
