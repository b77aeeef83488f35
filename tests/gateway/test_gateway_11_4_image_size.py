"""11.4's image size limit through signed DUIS over HTTP: DUIS allows images up to
10,240,000 bytes; one byte more is E110402 and changes nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from althan.model import EUI64, FirmwareVersion
from althan.runtime.assemble import Assembly
from althan.supplier.client import DuisClient
from althan.zigbee.testimage import build_test_image
from gateway_support import row_counts, send

LIMIT = 10_240_000
VERSION = 0x00020000
UNKNOWN = EUI64.parse("00-DB-12-34-56-78-9B-01")


def _image(size: int) -> bytes:
    overhead = len(build_test_image(0x1234, 0x0084, VERSION, payload_size=1024)) - 1024
    image = build_test_image(0x1234, 0x0084, VERSION, payload_size=size - overhead)
    assert len(image) == size
    return image


def test_an_image_one_byte_over_the_duis_limit_is_e110402_and_changes_nothing(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    req = supplier.update_ppmid_firmware(_image(LIMIT + 1), FirmwareVersion(VERSION), [UNKNOWN])
    before = row_counts(assembly.dsp.engine)
    code, _root = send(client, assembly, req)
    assert code == "E110402"
    assert row_counts(assembly.dsp.engine) == before


def test_an_image_of_exactly_the_limit_reaches_the_device_rules(
    client: TestClient, assembly: Assembly, supplier: DuisClient
) -> None:
    """10,240,000 bytes (13.7 MB of base64 in one text node) parse, verify and are checked
    per device: the unknown device is listed, nothing is stored but the request record."""
    req = supplier.update_ppmid_firmware(_image(LIMIT), FirmwareVersion(VERSION), [UNKNOWN])
    code, root = send(client, assembly, req)
    assert code == "W110401"
    sr = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
    assert root.findtext(f".//{sr}InvalidDeviceIDList") == str(UNKNOWN)
    assert row_counts(assembly.dsp.engine)["firmware_images"] == 0
