"""SECMP0170 over HTTP: the Alt HAN Device Variant round-trips, and the new refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient

from althan.model import EUI64
from althan.runtime.assemble import Assembly
from althan.supplier.client import DuisClient
from gateway_support import ESME, PPMID, SR, FakeClock, row_counts, seed_meter, send

BRIDGE = EUI64.parse("00-DB-12-34-56-78-B3-01")


def test_variant_round_trips_and_alt_han_targets_are_refused(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    seed_meter(assembly, clock())
    code, _ = send(
        client,
        assembly,
        supplier.prenotify(
            BRIDGE, manufacturer="1234", model="0084000A", device_type="PPMID", variant="B3"
        ),
    )
    assert code == "I0"
    clock.advance(1.5)
    code, root = send(client, assembly, supplier.read_inventory(BRIDGE))
    assert code == "I0"
    # the gateway reads the clock at the edge and hands it to the DSP
    assert root.findtext(f"{SR}Header/{SR}ResponseDateTime") == "2026-12-01T09:00:01.500Z"
    devices = list(root.iter(f"{SR}Device"))
    assert len(devices) == 1
    assert devices[0].findtext(f"{SR}DeviceType") == "PPMID"
    assert devices[0].findtext(f"{SR}AltHANDeviceVariant") == "B3"

    before = row_counts(assembly.dsp.engine)
    code, _ = send(client, assembly, supplier.join_non_critical(ESME, BRIDGE))
    assert code == "E080724"
    code, _ = send(client, assembly, supplier.unjoin_non_critical(ESME, BRIDGE))
    assert code == "E080823"
    assert row_counts(assembly.dsp.engine) == before


def test_variant_with_a_device_type_other_than_ppmid_is_refused(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    before = row_counts(assembly.dsp.engine)
    code, _ = send(
        client,
        assembly,
        supplier.prenotify(
            EUI64.parse("00-DB-12-34-56-78-E5-99"),
            manufacturer="1234",
            model="00010001",
            device_type="ESME",
            smets="SMETS V5.0",
            variant="B3",
        ),
    )
    assert code == "E120204"
    assert row_counts(assembly.dsp.engine) == before


def test_join_with_a_plain_ppmid_is_acknowledged(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    seed_meter(assembly, clock())
    code, _ = send(
        client,
        assembly,
        supplier.prenotify(PPMID, manufacturer="1234", model="0084000A", device_type="PPMID"),
    )
    assert code == "I0"
    code, _ = send(client, assembly, supplier.read_inventory(PPMID))
    assert code == "I0"
    code, _ = send(client, assembly, supplier.join_non_critical(ESME, PPMID))
    assert code == "I99"
    assert assembly.dsp.outbox.pending() >= 1  # the command waits for the CSP


def test_signed_read_inventory_of_an_unknown_device(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    unknown = EUI64.parse("00-DB-00-00-00-00-00-01")
    code, _ = send(client, assembly, supplier.read_inventory(unknown))
    assert code == "E080201"
