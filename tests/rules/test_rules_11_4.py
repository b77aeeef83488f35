"""SRV 11.4 Update PPMID Firmware: the request-level refusals, and the per-device rules whose
devices land in the five lists of DSPUpdatePPMIDFirmwareWarning (W110401) and get nothing.

The list tests run in the sim (fleet_world.World): 4 homes, every bridge commissioned over DUIS;
supplier B installed the bridges of the first home. Each sends ONE 11.4 naming devices that
must proceed and devices that must not, checks exactly which device is in which list, then
runs the network to the end: only the devices that proceeded were delivered to, activated
(N39) and run the new firmware.
"""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest
from lxml import etree
from rules_gateway import PPMID_INC, UNKNOWN, Gateway, own_schema, zaz1_client
from sqlalchemy import update

from althan.dsp import cpl
from althan.dsp.bootstrap import InventoryDevice, seed_inventory
from althan.duis.service_requests import RequestBuilder, SignedRequest
from althan.duis.xmldsig import verify
from althan.han.topology import Bridge
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import build_dsp, register_test_users
from althan.runtime.scenario import install_code
from althan.runtime.world import at
from althan.store.tables import devices
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image
from fleet_world import NEW_VERSION, World, warning_lists
from gateway_support import SR, T0, device_count

# ------------------------------------------------------------------ request-level refusals

IMAGE = build_test_image(0x1234, 0x0084, NEW_VERSION, min_hw=1, max_hw=20, payload_size=300)


def test_image_that_is_not_an_ota_file_is_e110401(gateway: Gateway) -> None:
    for data in (b"not a ZigBee OTA upgrade file" * 4, IMAGE[: len(IMAGE) // 2]):
        req = gateway.supplier.update_ppmid_firmware(data, FirmwareVersion(NEW_VERSION), [UNKNOWN])
        gateway.refused(req, "E110401")


def test_firmware_version_not_the_images_is_e110401(gateway: Gateway) -> None:
    req = gateway.supplier.update_ppmid_firmware(IMAGE, FirmwareVersion(NEW_VERSION + 1), [UNKNOWN])
    gateway.refused(req, "E110401")


def test_empty_firmware_image_is_e110401(gateway: Gateway) -> None:
    req = _update(gateway.supplier, "", [PPMID_INC])
    gateway.refused(req, "E110401")


def _ids(n: int) -> list[EUI64]:
    return [EUI64(0x00DB_0000_0000_0000 + i) for i in range(n)]


def test_more_than_50000_devices_is_refused_by_the_schema_e19(gateway: Gateway) -> None:
    """DUIS's own schema caps DeviceIDList at 1,199,999 characters: exactly 50,000 IDs. With
    the stock schemas a longer list never reaches the DSP's rule (E110403): it is E19."""
    req = gateway.supplier.update_ppmid_firmware(IMAGE, FirmwareVersion(NEW_VERSION), _ids(50_001))
    gateway.refused(req, "E19")


def test_more_than_50000_devices_is_e110403(tmp_path: Path, reference_dir: Path) -> None:
    """With a user's own schema that lets a longer DeviceIDList through (`althan serve
    --schema-dir`), the DSP's own limit answers E110403; 50,000 are processed."""
    schema = own_schema(
        tmp_path / "schema",
        reference_dir,
        lambda xsd: xsd.replace(b'<xs:maxLength value="1199999"/>', b""),
    )
    a = build_dsp(tmp_path / "data", schema_dirs=(schema,))
    register_test_users(a, T0)
    s = zaz1_client(a, TEST_SUPPLIER_EUI)
    version = FirmwareVersion(NEW_VERSION)
    reply = a.dsp.handle_duis("D", s.update_ppmid_firmware(IMAGE, version, _ids(50_001)).xml, T0)
    assert reply.response_code == "E110403", reply.detail
    reply = a.dsp.handle_duis("D", s.update_ppmid_firmware(IMAGE, version, _ids(50_000)).xml, T0)
    assert reply.response_code == "W110401", reply.detail  # all unknown: InvalidDeviceIDList


def _update(who: RequestBuilder, image_text: str, euis: list[EUI64]) -> SignedRequest:
    body = etree.Element(f"{SR}UpdatePPMIDFirmware")
    etree.SubElement(body, f"{SR}FirmwareImage").text = image_text
    etree.SubElement(body, f"{SR}FirmwareVersion").text = f"{NEW_VERSION:08X}"
    etree.SubElement(body, f"{SR}DeviceIDList").text = ",".join(map(str, euis))
    return who.request("11.4", 8, body)


# ------------------------------------------------------------------ per-device rules (the sim)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "data", homes_of_b=1)


def _model_b1(world: World) -> tuple[list[Bridge], Bridge, bytes]:
    """The test supplier's bridges of the B1 model, supplier B's, and an assured image."""
    b_euis = {b.eui for _h, b in world.bridges_of_b}
    key, bs = next((k, bs) for k, bs in sorted(world.models().items()) if len(bs) >= 4)
    ours = [b for b in bs if b.eui not in b_euis]
    theirs = next(b for b in bs if b.eui in b_euis)
    image = world.image_for(bs)
    hws = [b.hardware_version for b in bs]
    world.assure(image, min(hws), max(hws))
    assert key == (ours[0].manufacturer_code, ours[0].image_type)
    return ours, theirs, image


def _ids_of(*xs: Bridge | EUI64) -> list[str]:
    return [str(x.eui if isinstance(x, Bridge) else x) for x in xs]


def _check_only_delivered(world: World, got: list[Bridge], others: list[EUI64]) -> None:
    """After the network ran: `got` (and nothing else) was delivered to, activated and runs the
    new firmware; `others` have no delivery, no N39, the version they had."""
    assert world.n39_devices() == sorted(_ids_of(*got))
    assert sorted(d for d, _sha in world.deliveries()) == sorted(b.eui for b in got)
    running = world.running_versions()
    for b in got:
        assert running[b.eui] == NEW_VERSION
    for eui in others:
        if eui in running:
            assert running[eui] != NEW_VERSION
    assert world.w.user.bad_signatures == 0


def _prenotify(world: World, eui: EUI64, model_of: Bridge) -> None:
    b = model_of
    req = world.w.supplier.prenotify(
        eui,
        manufacturer=f"{b.manufacturer_code:04X}",
        model=f"{b.image_type:04X}{b.hardware_version:04X}",
        firmware=FirmwareVersion(b.firmware_version),
        variant=b.variant,
    )
    assert world.request(req)[0] == "I0"


def _status(world: World, eui: EUI64) -> str:
    code, root = world.request(world.w.supplier.read_inventory(eui))
    assert code == "I0"
    return root.findtext(f".//{SR}Device/{SR}DeviceStatus") or ""


def test_invalid_device_list_unknown_not_a_ppmid_or_another_suppliers(world: World) -> None:
    """InvalidDeviceIDList: a device the SMI does not know, an ESME, and supplier B's
    commissioned bridge of the very model the image is for (without this rule any supplier
    could re-flash any bridge)."""
    ours, theirs, image = _model_b1(world)
    esme = next(h.esme.eui for h in world.fleet.homes[1:] if h.esme is not None)
    assert _status(world, theirs.eui) == "Commissioned"

    reply = world.update(image, [ours[0].eui, UNKNOWN, esme, theirs.eui])

    assert reply.code == "W110401"
    assert reply.lists == {"InvalidDeviceIDList": _ids_of(UNKNOWN, esme, theirs)}
    _check_only_delivered(world, [ours[0]], [theirs.eui, esme])


def test_not_commissioned_list_pending_whitelisted_or_on_no_chf(world: World) -> None:
    """NotCommissionedDeviceIDList: a PPMID only pre-notified (Pending), one whitelisted on a
    Comms Hub that never joined (Whitelisted), and a Commissioned record on no Comms Hub."""
    ours, _theirs, image = _model_b1(world)
    pending, whitelisted, no_chf = (EUI64.parse(f"00-DB-17-00-00-00-00-0{i}") for i in (1, 2, 3))
    home = world.fleet.homes[1]
    _prenotify(world, pending, ours[0])
    _prenotify(world, whitelisted, ours[0])
    code, _ = world.request(
        world.w.supplier.whitelist(home.chf, whitelisted, install_code(whitelisted))
    )
    assert code == "I99"
    assert (_status(world, pending), _status(world, whitelisted)) == ("Pending", "Whitelisted")
    b = ours[0]
    with world.w.engine.begin() as conn:  # the DCC's own (inconsistent) record
        seed_inventory(
            conn,
            [
                InventoryDevice(
                    no_chf,
                    "PPMID",
                    f"{b.manufacturer_code:04X}",
                    f"{b.image_type:04X}{b.hardware_version:04X}",
                    f"{b.firmware_version:08X}",
                    home.region.value,
                    None,
                    TEST_SUPPLIER_EUI,
                )
            ],
            at(world.w.now()),
        )

    reply = world.update(image, [pending, ours[0].eui, whitelisted, no_chf])

    assert reply.code == "W110401"
    assert reply.lists == {"NotCommissionedDeviceIDList": _ids_of(pending, whitelisted, no_chf)}
    _check_only_delivered(world, [ours[0]], [pending, whitelisted, no_chf])


def test_not_applicable_list_bridge_of_another_model(world: World) -> None:
    ours, _theirs, image = _model_b1(world)
    other = next(
        b
        for _h, b in world.bridges
        if (b.manufacturer_code, b.image_type) != (ours[0].manufacturer_code, ours[0].image_type)
        and b not in [x for _h, x in world.bridges_of_b]
    )

    reply = world.update(image, [ours[0].eui, other.eui])

    assert reply.code == "W110401"
    assert reply.lists == {"NotApplicableFirmwareDeviceIDList": _ids_of(other)}
    _check_only_delivered(world, [ours[0]], [other.eui])


def test_other_request_in_progress_list(world: World) -> None:
    """A second 11.4 for a device whose delivery (of the first) is still under way."""
    ours, _theirs, image = _model_b1(world)
    before = len(world.w.user.replies)
    world.w.send(
        world.w.supplier.update_ppmid_firmware(image, FirmwareVersion(NEW_VERSION), [ours[0].eui])
    )
    world.w.send(
        world.w.supplier.update_ppmid_firmware(
            image, FirmwareVersion(NEW_VERSION), [ours[0].eui, ours[1].eui]
        )
    )
    world.w.run()
    first, second = world.w.user.replies[before:]
    assert first.response_code == "I0"
    assert second.response_code == "W110401"
    lists = warning_lists(verify(second.body, world.w.dsp_trust).root)
    assert lists == {"OtherRequestInProgressList": _ids_of(ours[0])}
    _check_only_delivered(world, [ours[0], ours[1]], [])
    assert len(world.deliveries()) == 2  # one each: none twice for ours[0]


def test_invalid_gbcs_version_list(world: World) -> None:
    """InvalidGBCSVersionList: a bridge whose SMI record names a GBCS version below 2.0 (no
    DUIS request sets it: the setup writes the DCC's record); 2.0 itself proceeds."""
    ours, _theirs, image = _model_b1(world)
    with world.w.engine.begin() as conn:
        conn.execute(update(devices).where(devices.c.eui == ours[1].eui).values(gbcs_version="1.0"))
        conn.execute(update(devices).where(devices.c.eui == ours[0].eui).values(gbcs_version="2.0"))

    reply = world.update(image, [ours[0].eui, ours[1].eui])

    assert reply.code == "W110401"
    assert reply.lists == {"InvalidGBCSVersionList": _ids_of(ours[1])}
    _check_only_delivered(world, [ours[0]], [ours[1].eui])


def test_every_device_proceeds_i0_and_a_wrapped_base64_image_is_the_same_image(
    world: World,
) -> None:
    """No warning: I0, recorded as acting on every device named. The image's base64 wrapped at
    76 columns (xs:base64Binary allows the whitespace) is the same image."""
    ours, _theirs, image = _model_b1(world)
    wrapped = "\n".join(textwrap.wrap(base64.b64encode(image).decode(), 76))
    assert "\n" in wrapped

    req = _update(world.w.supplier, wrapped, [b.eui for b in ours])
    code, root = world.request(req)

    assert code == "I0"
    assert root.find(f".//{SR}DSPUpdatePPMIDFirmwareWarning") is None
    assert device_count(world.w.engine, req.request_id) == len(ours) > 1
    world.w.run()
    _check_only_delivered(world, ours, [])


def test_not_applicable_where_the_cpl_covers_the_device_but_the_image_header_does_not(
    world: World,
) -> None:
    """A CPL entry for the image that covers every hardware version (and one for another
    manufacturer's model of the same identifier): the image's own header still decides. A
    hardware version above or below the header's range, a DeviceModel with no hardware
    version, and a manufacturer that is not the header's are NotApplicableFirmware; the
    device that fits proceeds. The 11.4 is recorded as acting on the one device that did."""
    ours, _theirs, image = _model_b1(world)
    assert len(ours) >= 3, len(ours)
    h = parse_ota(image).header
    assert h.minimum_hardware_version is not None and h.maximum_hardware_version is not None
    entry = world.assure(image, 0, 0xFFFF)
    model = f"{h.image_type:04X}"
    with world.w.engine.begin() as conn:
        cpl.add_entry(
            conn,
            by=ALTHANCO_DEFAULT_EUI,
            manufacturer="ABCD",
            model=model,
            hw_min=0,
            hw_max=0xFFFF,
            firmware_version=entry.firmware_version,
            image_sha256=entry.image_sha256,
            image_hash=parse_ota(image).image_hash,
            now=at(world.w.now()),
        )
    _set_smi(world, ours[1], model=f"{model}{h.maximum_hardware_version + 1:04X}")
    _set_smi(world, ours[2], model=model)  # no hardware version

    req = world.w.supplier.update_ppmid_firmware(
        image, FirmwareVersion(NEW_VERSION), [b.eui for b in (ours[1], ours[2], ours[0])]
    )
    code, root = world.request(req)

    assert code == "W110401"
    assert warning_lists(root) == {
        "NotApplicableFirmwareDeviceIDList": sorted(_ids_of(ours[1], ours[2]))
    }
    assert sorted(d for d, _sha in world.deliveries()) == [ours[0].eui]
    assert device_count(world.w.engine, req.request_id) == 1

    # below the header's range; a manufacturer (ABCD, whose CPL entry names this image) that is
    # not the header's
    assert h.minimum_hardware_version > 0
    _set_smi(world, ours[1], model=f"{model}{h.minimum_hardware_version - 1:04X}")
    _set_smi(world, ours[2], model=f"{model}{ours[2].hardware_version:04X}", manufacturer="ABCD")
    req = world.w.supplier.update_ppmid_firmware(
        image, FirmwareVersion(NEW_VERSION), [ours[1].eui, ours[2].eui]
    )
    code, root = world.request(req)
    assert code == "W110401"
    assert warning_lists(root) == {
        "NotApplicableFirmwareDeviceIDList": sorted(_ids_of(ours[1], ours[2]))
    }
    assert device_count(world.w.engine, req.request_id) == 0


def _set_smi(world: World, b: Bridge, **values: str) -> None:
    """Write the DCC's record of `b` (no DUIS request changes a model or manufacturer)."""
    with world.w.engine.begin() as conn:
        conn.execute(update(devices).where(devices.c.eui == b.eui).values(**values))


def test_a_hardware_version_with_hex_letters_is_read_as_hex(world: World) -> None:
    """DUIS DeviceModel is the model identifier and the hardware version, 4 hex digits each:
    hardware 1A0A is 0x1A0A, inside an image header whose range is exactly 0x1A0A."""
    ours, _theirs, _image = _model_b1(world)
    b = ours[0]
    image = build_test_image(
        b.manufacturer_code, b.image_type, NEW_VERSION, min_hw=0x1A0A, max_hw=0x1A0A
    )
    world.assure(image, 0, 0xFFFF)
    _set_smi(world, b, model=f"{b.image_type:04X}1A0A")
    req = world.w.supplier.update_ppmid_firmware(image, FirmwareVersion(NEW_VERSION), [b.eui])
    code, root = world.request(req)
    assert code == "I0", warning_lists(root)
