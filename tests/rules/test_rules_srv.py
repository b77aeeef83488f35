"""The SRV handlers' refusals (12.2, 8.2, 8.4, 8.7.2, 8.8.2, 8.11, 11.2), each with its exact
code, signed by the DSP, changing nothing; and, for each rule, the request it lets through."""

from __future__ import annotations

from fastapi.testclient import TestClient
from lxml import etree
from rules_gateway import (
    BRIDGE,
    CHF_NEW,
    ESME_B,
    ESME_INC,
    ESME_NO_CHF,
    MODEL,
    PPMID_B,
    PPMID_INC,
    PPMID_NO_CHF,
    PPMID_PENDING,
    PPMID_WITHDRAWN,
    UNKNOWN,
    Gateway,
    delete_device,
)
from sqlalchemy import select

from althan import gbcs
from althan.dsp import records
from althan.model import EUI64, FirmwareVersion
from althan.runtime.assemble import Assembly
from althan.smwan import GbcsCommand
from althan.smwan.codec import decode as smwan_decode
from althan.store.tables import service_requests
from althan.supplier.client import DuisClient, SignedRequest
from gateway_support import CHF, ESME, SR, FakeClock, seed_meter, send, store_contents

NEW = EUI64.parse("00-DB-12-34-56-78-A0-99")


# ------------------------------------------------------------------ 12.2 Device Pre-notification


def test_12_2_of_a_device_already_known_is_e120201(gateway: Gateway) -> None:
    for eui in (PPMID_PENDING, ESME):
        gateway.refused(
            gateway.supplier.prenotify(eui, manufacturer="1234", model=MODEL), "E120201"
        )


def test_12_2_variant_for_a_device_that_is_not_a_ppmid_is_e120204(gateway: Gateway) -> None:
    req = gateway.supplier.prenotify(
        NEW, manufacturer="1234", model="00010001", device_type="ESME", variant="B1"
    )
    gateway.refused(req, "E120204")


def test_12_2_of_a_new_device_is_i0_and_recorded_pending(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    code, _ = send(client, assembly, supplier.prenotify(NEW, manufacturer="1234", model=MODEL))
    assert code == "I0"
    code, root = send(client, assembly, supplier.read_inventory(NEW))
    assert code == "I0"
    assert root.findtext(f".//{SR}Device/{SR}DeviceStatus") == "Pending"
    assert root.findtext(f".//{SR}Device/{SR}DeviceType") == "PPMID"


def test_12_2_with_an_empty_manufacturer_and_model_records_them_empty(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    """The schema lets DeviceManufacturer and DeviceModel be empty: the SMI keeps them empty."""
    assert send(client, assembly, supplier.prenotify(NEW, manufacturer="", model=""))[0] == "I0"
    code, root = send(client, assembly, supplier.read_inventory(NEW))
    assert code == "I0"
    device = root.find(f".//{SR}Device")
    assert device is not None
    for name in ("DeviceManufacturer", "DeviceModel"):
        assert (device.findtext(f"{SR}{name}") or "") == "", name


def test_12_2_with_a_firmware_version_records_it_against_the_request(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    """The declared versions go into the SMI and the firmware history, tied to the 12.2's
    RequestID; an 8.4 with a new version too, tied to the 8.4."""
    since = clock()
    req = supplier.prenotify(
        NEW, manufacturer="1234", model=MODEL, firmware=FirmwareVersion.parse("01020304")
    )
    assert send(client, assembly, req)[0] == "I0"
    code, root = send(client, assembly, supplier.read_inventory(NEW))
    assert code == "I0"
    assert root.findtext(f".//{SR}Device/{SR}DeviceFirmwareVersion") == "01020304"
    assert root.findtext(f".//{SR}Device/{SR}SMETSCHTSVersion") == "CHTS V1.4"
    # 8.4 with another version: the SMI takes it, the history records it against the 8.4
    req_84 = supplier.update_inventory_firmware(NEW, FirmwareVersion.parse("01020305"))
    assert send(client, assembly, req_84)[0] == "I0"
    with assembly.dsp.engine.connect() as conn:
        changes = records.version_changes(conn, since, NEW)
    assert [(c.previous_version, c.firmware_version, c.source, c.request_id) for c in changes] == [
        (None, "01020304", records.Source.PRENOTIFICATION.value, str(req.request_id)),
        ("01020304", "01020305", records.Source.INVENTORY_UPDATE.value, str(req_84.request_id)),
    ]


# ------------------------------------------------------------------ 8.2 / 8.4 inventory


def test_8_2_of_an_unknown_device_is_e080201(gateway: Gateway) -> None:
    gateway.refused(gateway.supplier.read_inventory(UNKNOWN), "E080201")


def test_8_2_by_uprn_or_mpxn_is_not_built_e21(gateway: Gateway) -> None:
    """The search by UPRN, MPxN or PropertyFilter is not built: E21, never 'no device'."""
    for name, value in (("UPRN", "1234567"), ("MPxN", "1234567890123")):
        body = etree.Element(f"{SR}ReadInventory")
        etree.SubElement(body, f"{SR}{name}").text = value
        gateway.refused(gateway.supplier.request("8.2", 8, body), "E21")


def test_8_4_of_an_unknown_device_is_e080405(gateway: Gateway) -> None:
    gateway.refused(gateway.supplier.update_inventory_variant(UNKNOWN, "B1"), "E080405")


def test_8_4_of_another_suppliers_device_is_e17(gateway: Gateway) -> None:
    gateway.refused(gateway.supplier.update_inventory_variant(PPMID_B, "B1"), "E17")
    gateway.refused(delete_device(gateway.supplier, PPMID_B), "E17")


def test_8_4_variant_for_a_device_that_is_not_a_ppmid_is_e080406(gateway: Gateway) -> None:
    gateway.refused(gateway.supplier.update_inventory_variant(ESME, "B2"), "E080406")


def test_8_4_delete_of_a_device_that_is_not_pending_is_e20(gateway: Gateway) -> None:
    for eui in (ESME, PPMID_WITHDRAWN, PPMID_INC):
        gateway.refused(delete_device(gateway.supplier, eui), "E20")


def test_8_4_variant_of_a_ppmid_and_delete_of_a_pending_device_are_i0(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    assert send(client, assembly, supplier.prenotify(NEW, manufacturer="1", model=MODEL))[0] == "I0"
    assert send(client, assembly, supplier.update_inventory_variant(NEW, "B2"))[0] == "I0"
    _, root = send(client, assembly, supplier.read_inventory(NEW))
    assert root.findtext(f".//{SR}Device/{SR}AltHANDeviceVariant") == "B2"
    assert send(client, assembly, delete_device(supplier, NEW))[0] == "I0"
    _, root = send(client, assembly, supplier.read_inventory(NEW))
    assert root.findtext(f".//{SR}Device/{SR}DeviceStatus") == "Withdrawn"


# ------------------------------------------------------------------ 8.7.2 / 8.8.2 join, unjoin


def test_join_and_unjoin_of_an_unknown_target_are_e5(gateway: Gateway) -> None:
    s = gateway.supplier
    gateway.refused(s.join_non_critical(UNKNOWN, PPMID_PENDING), "E5")
    gateway.refused(s.unjoin_non_critical(UNKNOWN, PPMID_PENDING), "E5")


def test_join_and_unjoin_with_an_alt_han_device_either_side_are_refused(gateway: Gateway) -> None:
    """SECMP0170: E080724 / E080823 whether the bridge is the target or the other device."""
    s = gateway.supplier
    for target, other in ((ESME, BRIDGE), (BRIDGE, ESME)):
        gateway.refused(s.join_non_critical(target, other), "E080724")
        gateway.refused(s.unjoin_non_critical(target, other), "E080823")


def test_join_and_unjoin_on_another_suppliers_target_are_e17(gateway: Gateway) -> None:
    s = gateway.supplier
    gateway.refused(s.join_non_critical(ESME_B, PPMID_PENDING), "E17")
    gateway.refused(s.unjoin_non_critical(ESME_B, PPMID_PENDING), "E17")


def test_join_and_unjoin_of_a_target_not_commissioned_or_on_no_chf_are_e20(
    gateway: Gateway,
) -> None:
    s = gateway.supplier
    for target in (ESME_INC, ESME_NO_CHF):  # installed on CHF, not commissioned / on no CHF
        gateway.refused(s.join_non_critical(target, PPMID_PENDING), "E20")
        gateway.refused(s.unjoin_non_critical(target, PPMID_PENDING), "E20")


# ------------------------------------------------------------------ 8.11 Update HAN Device Log


def _add(s: DuisClient, chf: EUI64, device: EUI64) -> SignedRequest:
    return s.whitelist(chf, device, bytes(16))


def test_8_11_to_a_target_that_is_not_a_known_chf_is_e5(gateway: Gateway) -> None:
    for target in (UNKNOWN, ESME):
        gateway.refused(_add(gateway.supplier, target, PPMID_PENDING), "E5")


def test_8_11_to_a_chf_not_commissioned_is_e20(gateway: Gateway) -> None:
    gateway.refused(_add(gateway.supplier, CHF_NEW, PPMID_PENDING), "E20")


def test_8_11_of_an_unknown_device_is_e5(gateway: Gateway) -> None:
    gateway.refused(_add(gateway.supplier, CHF, UNKNOWN), "E5")


def test_8_11_of_another_suppliers_device_is_e17(gateway: Gateway) -> None:
    gateway.refused(_add(gateway.supplier, CHF, PPMID_B), "E17")
    gateway.refused(_add(gateway.supplier_b, CHF, PPMID_PENDING), "E17")


def test_8_11_add_of_a_withdrawn_device_is_e20(gateway: Gateway) -> None:
    gateway.refused(_add(gateway.supplier, CHF, PPMID_WITHDRAWN), "E20")


def test_8_11_add_without_a_whitelist_entry_is_e081102(gateway: Gateway) -> None:
    """RequestType Add with no AddDeviceToCHFWhitelist (the schema lets it be left out): there is
    no install code for the CCS01, so the request is refused, not sent with a made-up one."""
    body = etree.Element(f"{SR}UpdateHANDeviceLog")
    etree.SubElement(body, f"{SR}DeviceID").text = str(PPMID_PENDING)
    etree.SubElement(body, f"{SR}RequestType").text = "Add"
    gateway.refused(gateway.supplier.request("8.11", 1, body, target=CHF), "E081102")


def test_8_11_add_and_remove_are_i99_with_a_ccs01_and_ccs02_for_the_csp(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    seed_meter(assembly, clock())
    assert send(client, assembly, supplier.prenotify(NEW, manufacturer="1", model=MODEL))[0] == "I0"
    pending = assembly.dsp.outbox.pending()
    assert send(client, assembly, _add(supplier, CHF, NEW))[0] == "I99"
    assert send(client, assembly, supplier.unwhitelist(CHF, NEW))[0] == "I99"
    assert assembly.dsp.outbox.pending() == pending + 2  # two GBCS commands wait for the CSP


# ------------------------------------------------------------------ 11.2 Read Firmware Version


def test_11_2_of_an_unknown_device_is_e5(gateway: Gateway) -> None:
    gateway.refused(gateway.supplier.read_firmware_version(UNKNOWN), "E5")


def test_11_2_of_a_device_that_is_not_a_ppmid_or_hcalcs_is_e21(gateway: Gateway) -> None:
    gateway.refused(gateway.supplier.read_firmware_version(ESME), "E21")


def test_11_2_of_another_suppliers_device_is_e17(gateway: Gateway) -> None:
    gateway.refused(gateway.supplier_b.read_firmware_version(PPMID_INC), "E17")
    gateway.refused(gateway.supplier.read_firmware_version(PPMID_B), "E17")


def test_11_2_of_a_device_not_commissioned_or_on_no_chf_is_e20(gateway: Gateway) -> None:
    for eui in (PPMID_PENDING, PPMID_INC, PPMID_NO_CHF):
        gateway.refused(gateway.supplier.read_firmware_version(eui), "E20")


def test_a_refusal_after_the_counter_is_claimed_leaves_the_counter_alone(
    gateway: Gateway,
) -> None:
    """A handler's refusal (here E5) rolls back everything the request did, the claimed
    RequestID counter included: the same counter is then accepted."""
    s = gateway.supplier
    engine = gateway.assembly.dsp.engine
    before = store_contents(engine)
    gateway.refused(s.read_firmware_version(UNKNOWN), "E5")
    s.counter -= 1  # reuse the refused request's counter
    gateway.refused(s.read_inventory(UNKNOWN), "E080201")  # not E12: the counter was not used
    assert store_contents(engine) == before


# ------------------------------------------------------------------ what an accepted request does


def _commands(
    assembly: Assembly, clock: FakeClock
) -> list[tuple[str, GbcsCommand, gbcs.GbcsMessage]]:
    """The GBCS commands the DSP queued for the CSPs since the last call: (region, the SM WAN
    message, the decoded GBCS message)."""
    out = []
    for item in assembly.dsp.outbox.take("test", clock()):
        msg = smwan_decode(item.payload)
        assert isinstance(msg, GbcsCommand)
        out.append((item.destination, msg, gbcs.decode(msg.payload)))
    return out


def test_accepted_8_x_requests_queue_their_gbcs_command_and_count_one_device(
    client: TestClient, assembly: Assembly, supplier: DuisClient, clock: FakeClock
) -> None:
    """Join (CS03A2) and unjoin (CS04AC) go to the target, naming the other device; 8.11 add
    (CCS01, with the install code given) and remove (CCS02) go to the CHF; every accepted request
    is recorded as acting on one device (what anomaly detection sums); 8.2 answers a
    DSPInventory."""
    seed_meter(assembly, clock())
    reqs = [supplier.prenotify(NEW, manufacturer="1", model=MODEL)]
    assert send(client, assembly, reqs[0])[0] == "I0"
    _commands(assembly, clock)
    code = bytes(range(16))
    steps = [
        (supplier.join_non_critical(ESME, NEW), ESME, gbcs.MessageCode.CS03A2),
        (supplier.unjoin_non_critical(ESME, NEW), ESME, gbcs.MessageCode.CS04AC),
        (supplier.whitelist(CHF, NEW, code), CHF, gbcs.MessageCode.CCS01),
        (supplier.unwhitelist(CHF, NEW), CHF, gbcs.MessageCode.CCS02),
    ]
    for req, target, message_code in steps:
        reqs.append(req)
        assert send(client, assembly, req)[0] == "I99", req.service
        [(region, cmd, msg)] = _commands(assembly, clock)
        assert (region, cmd.chf, msg.target, msg.message_code) == (
            "Central",
            CHF,
            target,
            message_code,
        )
        assert cmd.payload == msg.raw and NEW.to_bytes() in msg.raw  # the other device
        assert (code in msg.raw) == (message_code == gbcs.MessageCode.CCS01)
    for req in (supplier.read_inventory(NEW), supplier.update_inventory_variant(NEW, "B2")):
        reqs.append(req)
        assert send(client, assembly, req)[0] == "I0"
    _, root = send(client, assembly, supplier.read_inventory(NEW))
    assert [etree.QName(e).localname for e in root.iter(f"{SR}DSPInventory")] == ["DSPInventory"]
    with assembly.dsp.engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(service_requests.c.request_id, service_requests.c.device_count)
            ).all()
        )
    assert [counts[str(r.request_id)] for r in reqs] == [1] * len(reqs)
