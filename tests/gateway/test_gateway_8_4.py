"""8.4 Update Inventory: what althan does not build is answered E21 and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from althan.duis.namespaces import sr_element as e
from althan.runtime.assemble import Assembly
from althan.supplier.client import DuisClient
from gateway_support import ESME, FakeClock, row_counts, seed_meter, send


@pytest.mark.parametrize(
    "change",
    [
        e("UpdateDeviceStatusExceptCH", "InstalledNotCommissioned"),
        e("UpdateDeviceStatusCH", "Withdrawn"),
        e("UpdateMPxN", None, e("ImportMPxN", "1234567890123")),
    ],
    ids=lambda x: x.tag.rsplit("}", 1)[-1],
)
def test_status_and_mpxn_updates_are_not_supported(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock, change: object
) -> None:
    seed_meter(assembly, clock())
    before = row_counts(assembly.dsp.engine)
    req = supplier.request("8.4", 8, e("UpdateInventory", None, e("DeviceID", str(ESME)), change))  # type: ignore[arg-type]
    assert send(client, assembly, req)[0] == "E21"
    assert row_counts(assembly.dsp.engine) == before
