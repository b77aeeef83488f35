"""Requirement 12 through signed DUIS 11.4 in the sim: only Active CPL images reach devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from althan.model import EUI64
from fleet_world import NEW_VERSION, World


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "data")


def _ids(xs: list[EUI64]) -> list[str]:
    return [str(x) for x in xs]


def _assert_nothing_delivered(
    world: World, smi_before: dict[EUI64, str], running_before: dict[EUI64, int]
) -> None:
    assert world.w.user.alerts("N39") == []
    assert world.smi_versions() == smi_before
    assert world.running_versions() == running_before
    assert world.deliveries() == []
    assert world.distributions_sent() == 0
    assert world.image_bytes_on_wan() == 0


def test_image_not_in_cpl_is_refused_for_every_device(world: World) -> None:
    (_key, bs), *_ = sorted(world.models().items())
    image = world.image_for(bs)
    euis = [b.eui for _h, b in world.bridges]
    smi0, run0 = world.smi_versions(), world.running_versions()

    reply = world.update(image, euis)

    assert reply.code == "W110401"
    assert reply.lists == {"NotApplicableFirmwareDeviceIDList": _ids(euis)}
    _assert_nothing_delivered(world, smi0, run0)
    assert all(v != f"{NEW_VERSION:08X}" for v in smi0.values())


def test_assured_image_is_delivered_and_withdrawal_stops_new_deliveries(world: World) -> None:
    (_key, bs), *_ = sorted(world.models().items())
    image = world.image_for(bs)
    hws = [b.hardware_version for b in bs]
    entry = world.assure(image, min(hws), max(hws))

    # while Active: every bridge of the model proceeds and reports its new firmware (N39)
    first = world.update(image, [bs[0].eui])
    assert first.code == "I0", first
    assert world.n39_devices() == [str(bs[0].eui)]
    assert world.smi_versions()[bs[0].eui] == f"{NEW_VERSION:08X}"
    assert world.running_versions()[bs[0].eui] == NEW_VERSION
    assert world.distributions_sent() == 1

    # withdrawn: the same image for the other bridges of the model is refused outright
    world.withdraw(entry.id)
    rest = [b.eui for b in bs[1:]]
    assert rest, "setup: want at least two bridges of one model"
    smi1, run1 = world.smi_versions(), world.running_versions()
    second = world.update(image, rest)
    assert second.code == "W110401"
    assert second.lists == {"NotApplicableFirmwareDeviceIDList": _ids(rest)}
    assert world.n39_devices() == [str(bs[0].eui)]
    assert world.smi_versions() == smi1
    assert world.running_versions() == run1
    assert [d for d, _sha in world.deliveries()] == [bs[0].eui]
    assert world.distributions_sent() == 1


def test_hardware_outside_the_entry_range_is_refused(world: World) -> None:
    spread = [
        (k, bs)
        for k, bs in sorted(world.models().items())
        if len({b.hardware_version for b in bs}) > 1
    ]
    assert spread, "setup: want a model whose bridges have different hardware versions"
    _key, bs = spread[0]
    lo = min(b.hardware_version for b in bs)
    inside = [b for b in bs if b.hardware_version == lo]
    outside = [b for b in bs if b.hardware_version != lo]
    # the image header allows every hardware version: only the CPL entry's range can refuse
    image = world.image_for(bs, hw_in_header=False)
    world.assure(image, lo, lo)

    reply = world.update(image, [b.eui for b in bs])

    assert reply.code == "W110401"
    assert reply.lists == {"NotApplicableFirmwareDeviceIDList": _ids([b.eui for b in outside])}
    assert world.n39_devices() == sorted(_ids([b.eui for b in inside]))
    smi = world.smi_versions()
    running = world.running_versions()
    for b in inside:
        assert smi[b.eui] == f"{NEW_VERSION:08X}"
        assert running[b.eui] == NEW_VERSION
    for b in outside:
        assert smi[b.eui] == f"{b.firmware_version:08X}"
        assert running[b.eui] == b.firmware_version
    assert sorted(d for d, _ in world.deliveries()) == sorted(b.eui for b in inside)


def test_entry_for_another_model_does_not_cover_a_device(world: World) -> None:
    models = sorted(world.models().items())
    assert len(models) >= 2, "setup: want two bridge models"
    (_k1, bs1), (_k2, bs2) = models[0], models[1]
    image = world.image_for(bs1)
    hws = [b.hardware_version for b in bs1]
    world.assure(image, min(hws), max(hws))
    smi0, run0 = world.smi_versions(), world.running_versions()

    # the assured image of model 1 sent to bridges of model 2
    reply = world.update(image, [b.eui for b in bs2])

    assert reply.code == "W110401"
    assert reply.lists == {"NotApplicableFirmwareDeviceIDList": _ids([b.eui for b in bs2])}
    _assert_nothing_delivered(world, smi0, run0)


def test_a_different_image_of_the_same_model_and_version_is_not_covered(world: World) -> None:
    """The entry names the image by SHA-256: same header, different bytes, not assured."""
    (_key, bs), *_ = sorted(world.models().items())
    hws = [b.hardware_version for b in bs]
    world.assure(world.image_for(bs, payload_size=2048), min(hws), max(hws))
    other = world.image_for(bs, payload_size=2049)
    smi0, run0 = world.smi_versions(), world.running_versions()

    reply = world.update(other, [b.eui for b in bs])

    assert reply.code == "W110401"
    assert reply.lists == {"NotApplicableFirmwareDeviceIDList": _ids([b.eui for b in bs])}
    _assert_nothing_delivered(world, smi0, run0)


def test_the_image_is_stored_once_however_many_requests_carry_it(world: World) -> None:
    (_key, bs), *_ = sorted(world.models().items())
    image = world.image_for(bs)
    euis = [b.eui for _h, b in world.bridges]
    stored0 = world.w.images.count()

    for _ in range(3):
        assert world.update(image, euis).code == "W110401"
    # an image no device may receive (not assured) is not kept
    assert world.w.images.count() == stored0
    assert world.image_rows() == 0

    # once assured and delivered, one copy, however many requests carry it
    hws = [b.hardware_version for b in bs]
    world.assure(image, min(hws), max(hws))
    assert world.update(image, [b.eui for b in bs[:1]]).code == "I0"
    assert world.update(image, [b.eui for b in bs[1:]]).code == "I0"
    assert world.w.images.count() == stored0 + 1
    assert world.image_rows() == 1


def test_an_11_4_whose_image_is_not_an_ota_file_is_rejected(world: World) -> None:
    euis = [b.eui for _h, b in world.bridges]
    smi0, run0 = world.smi_versions(), world.running_versions()
    stored0 = world.w.images.count()
    not_ota = b"this is not a ZigBee OTA upgrade file" * 10

    reply = world.update(not_ota, euis)

    assert reply.code == "E110401"
    assert reply.lists == {}
    _assert_nothing_delivered(world, smi0, run0)
    assert world.w.images.count() == stored0
    assert world.image_rows() == 0


def test_an_ota_file_cut_short_is_rejected(world: World) -> None:
    (_key, bs), *_ = sorted(world.models().items())
    image = world.image_for(bs)
    hws = [b.hardware_version for b in bs]
    world.assure(image, min(hws), max(hws))
    smi0, run0 = world.smi_versions(), world.running_versions()

    reply = world.update(image[: len(image) // 2], [b.eui for b in bs])

    assert reply.code == "E110401"
    _assert_nothing_delivered(world, smi0, run0)
    assert world.image_rows() == 0


def test_version_that_disagrees_with_the_header_is_rejected(world: World) -> None:
    (_key, bs), *_ = sorted(world.models().items())
    image = world.image_for(bs)
    hws = [b.hardware_version for b in bs]
    world.assure(image, min(hws), max(hws))

    reply = world.update(image, [b.eui for b in bs], version=NEW_VERSION + 1)

    assert reply.code == "E110401"
    assert world.deliveries() == []
    assert world.w.user.alerts("N39") == []
