"""What comes back over the SM WAN, in the sim: every DCC alert of the catalogue (N55, N56,
N39 in a firmware update; N42 on an 11.2 that finds the SMI stale), each signed by the DSP and
carrying the body element the catalogue binds to its code; the asynchronous device responses
(I0 after I99); and the CHF device-log limit of 8.11 (E081101), which only a device log filled
through the network can reach."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from althan import gbcs
from althan.dsp import catalogue as C
from althan.dsp import gbcs_out, smi
from althan.han.topology import generate_fleet
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.scenario import Scenario, install_code
from althan.runtime.world import Received
from althan.smwan import GbcsResponse
from althan.smwan.addresses import DSP_ADDRESS, csp_address
from althan.store.tables import device_commands
from fleet_world import NEW_VERSION, World
from gateway_support import SR, device_count, store_contents

BODY = {a.code: a.element for a in C.DCC_ALERTS}


def _alert_body(d: Received) -> str:
    """The local name of the one element inside sr:DCCAlert."""
    alert = d.root.find(f"{SR}Body/{SR}DCCAlertMessage/{SR}DCCAlert")
    assert alert is not None and len(alert) == 1
    return str(alert[0].tag).rsplit("}", 1)[-1]


def test_a_firmware_update_raises_n55_n56_and_n39_per_device(tmp_path: Path) -> None:
    world = World(tmp_path / "data")
    (_key, bs), *_ = sorted(world.models().items())
    image = world.image_for(bs)
    hws = [b.hardware_version for b in bs]
    world.assure(image, min(hws), max(hws))

    reply = world.update(image, [b.eui for b in bs])

    assert reply.code == "I0"
    user = world.w.user
    assert user.bad_signatures == 0  # every delivery verified against the DSP's certificate
    by_code: dict[str, list[Received]] = {}
    for d in user.deliveries:
        if d.alert_code is not None:
            by_code.setdefault(d.alert_code, []).append(d)
    assert set(by_code) == {"N55", "N56", "N39"}
    for code, got in by_code.items():
        assert sorted(d.device or "" for d in got) == sorted(str(b.eui) for b in bs), code
        assert {_alert_body(d) for d in got} == {BODY[code]}
    assert {d.root.findtext(f".//{SR}CommsHubTransferStatus") for d in by_code["N55"]} == {
        "Success"
    }
    assert {d.root.findtext(f".//{SR}AlertCode") for d in by_code["N56"]} == {"8F8A"}
    assert {d.root.findtext(f".//{SR}DeviceAlertCode") for d in by_code["N39"]} == {"8F8B"}
    for code in ("N55", "N56", "N39"):  # each names the version the 11.4 delivered
        versions = {d.root.findtext(f".//{SR}FirmwareVersion") for d in by_code[code]}
        assert versions == {f"{NEW_VERSION:08X}"}, code


def _one_home(
    tmp: Path, firmware: FirmwareVersion | None = FirmwareVersion(0x00000001)
) -> tuple[Scenario, EUI64, EUI64]:
    """One home; its first bridge pre-notified with a firmware version it does not run (or
    with none)."""
    fleet = generate_fleet(1, 3)
    w = Scenario(fleet, tmp, seed=3)
    home, bridge = next(iter(fleet.bridges()))
    w.send(
        w.supplier.prenotify(
            bridge.eui,
            manufacturer=f"{bridge.manufacturer_code:04X}",
            model=f"{bridge.image_type:04X}{bridge.hardware_version:04X}",
            firmware=firmware,
            variant=bridge.variant,
        )
    )
    w.send(w.supplier.whitelist(home.chf, bridge.eui, install_code(bridge.eui)))
    w.run()
    assert [r.response_code for r in w.user.replies] == ["I0", "I99"]
    return w, home.chf, bridge.eui


def test_11_2_of_a_device_whose_smi_version_is_stale_raises_n42(tmp_path: Path) -> None:
    w, _chf, bridge = _one_home(tmp_path)
    running = f"{w.network.device(bridge).firmware_version:08X}"
    assert running != "00000001"
    req = w.supplier.read_firmware_version(bridge)
    w.send(req)
    w.run()

    assert w.user.replies[-1].response_code == "I99"
    responses = [d for d in w.user.responses_to(req.request_id) if d.alert_code is None]
    assert [d.response_code for d in responses] == ["I0"]  # the device's answer, async
    n42 = w.user.alerts("N42")
    assert len(n42) == 1 and _alert_body(n42[0]) == BODY["N42"]
    assert n42[0].root.findtext(f".//{SR}FirmwareVersionSMI") == "00000001"
    assert n42[0].root.findtext(f".//{SR}FirmwareVersionDevice") == running
    assert w.user.bad_signatures == 0
    # the SMI now holds what the device runs: asking again raises no further N42
    w.send(w.supplier.read_firmware_version(bridge))
    w.run()
    assert len(w.user.alerts("N42")) == 1


def test_11_2_of_a_device_whose_smi_has_no_version_raises_n42_from_00000000(
    tmp_path: Path,
) -> None:
    """Pre-notified without a firmware version: the first 11.2 tells the SMI what the device
    runs, and the N42 names the SMI's version as 00000000 (the schema's 8 hex digits). The
    11.2 is recorded as acting on one device."""
    w, _chf, bridge = _one_home(tmp_path, firmware=None)
    running = f"{w.network.device(bridge).firmware_version:08X}"
    req = w.supplier.read_firmware_version(bridge)
    w.send(req)
    w.run()
    [n42] = w.user.alerts("N42")
    assert n42.root.findtext(f".//{SR}FirmwareVersionSMI") == "00000000"
    assert n42.root.findtext(f".//{SR}FirmwareVersionDevice") == running
    with w.engine.connect() as conn:
        assert smi.get_device(conn, bridge).firmware_version == running
    assert device_count(w.engine, req.request_id) == 1


@pytest.mark.parametrize("answer", ["a success naming no version", "a failure naming one"])
def test_an_11_2_answer_without_a_version_read_changes_no_version(
    tmp_path: Path, answer: str
) -> None:
    """An authentic answer to 11.2's command (MAC'd with the device's KA key, echoing its
    counter, reaching the DSP before the device's own) that is a success of another kind (a
    DLMS answer, as to CCS02: no version in it) or a CS08 failure that names a version is
    relayed to the user, but tells the SMI nothing: no N42, the SMI keeps its version."""
    w, chf, bridge = _one_home(tmp_path)
    req = w.supplier.read_firmware_version(bridge)
    w.send(req)
    w.run(until=w.now() + 0.5)  # the DSP answered I99; the command is on its way
    assert w.user.replies[-1].response_code == "I99"
    keys = w.dsp.services.gbcs_keys
    counter = int(str(req.request_id).rsplit(":", 1)[1])
    payload: gbcs.Payload
    if answer == "a failure naming one":
        asked: gbcs.Payload = gbcs.ReadFirmwareVersionCommand()
        payload = gbcs.ReadFirmwareVersionResponse(FirmwareVersion(0x00AB0000), response_code=1)
    else:
        remove = gbcs.DeviceLogRemoveCommand(gbcs.default_invoke_id(counter), bridge)
        asked, payload = remove, gbcs.DlmsAccessResponse.answering(remove.to_access())
    sent = gbcs.decode(
        gbcs_out.command(keys, asked, target=bridge, user=TEST_SUPPLIER_EUI, counter=counter)
    )
    forged = gbcs.seal(
        gbcs.response_to(sent, payload),
        ka_private=w.keys.key_for(bridge, "ka"),
        ka_public=w.keys.key_for(DCC_EUI, "ka").public_key(),
    )
    with w.engine.connect() as conn:
        cmd = conn.execute(
            select(device_commands.c.msg_id).where(
                device_commands.c.request_id == str(req.request_id)
            )
        ).scalar_one()
    region = next(h.region for h in w.fleet.homes if h.chf == chf)
    msg = GbcsResponse("answer-1", cmd, chf, bridge, forged)
    w.sim.post(DSP_ADDRESS, msg, sender=csp_address(region))  # as its CSP
    w.run()
    relayed = [d.root.findtext(f".//{SR}GBCSPayload") for d in w.user.responses_to(req.request_id)]
    assert relayed == [base64.b64encode(forged).decode()]
    assert w.user.alerts("N42") == []
    with w.engine.connect() as conn:
        assert smi.get_device(conn, bridge).firmware_version == "00000001"


def test_8_11_remove_takes_the_device_off_the_smis_copy_of_the_device_log(tmp_path: Path) -> None:
    """8.11 Remove goes to the CHF as CCS02; on the Comms Hub's answer the SMI's copy of the
    CHF's device log no longer holds the device (and the hub's own log does not either)."""
    w, chf, bridge = _one_home(tmp_path)
    with w.engine.connect() as conn:
        assert (chf, bridge) in smi.device_log_entries(conn)
    req = w.supplier.unwhitelist(chf, bridge)
    w.send(req)
    w.run()
    assert w.user.replies[-1].response_code == "I99"
    assert [d.response_code for d in w.user.responses_to(req.request_id)] == ["I0"]
    with w.engine.connect() as conn:
        assert (chf, bridge) not in smi.device_log_entries(conn)


def test_8_11_a_seventh_type_1_device_on_a_chf_is_e081101(tmp_path: Path) -> None:
    """A CHF's device log takes six Type 1 devices (PPMIDs, HCALCS): filled through 8.11 and the
    Comms Hub's answers, the seventh is refused; a device already in the log is not counted
    again."""
    w, chf, bridge = _one_home(tmp_path)
    extra = [EUI64.parse(f"00-DB-18-00-00-00-00-0{i}") for i in range(1, 7)]
    for eui in extra:
        w.send(w.supplier.prenotify(eui, manufacturer="1A1C", model="0B010001"))
    w.run()
    for eui in extra[:5]:  # the bridge + 5: six Type 1 devices
        w.send(w.supplier.whitelist(chf, eui, install_code(eui)))
    w.run()
    assert [r.response_code for r in w.user.replies[-5:]] == ["I99"] * 5
    assert all(d.response_code == "I0" for d in w.user.deliveries if d.alert_code is None)

    before = store_contents(w.engine)
    w.send(w.supplier.whitelist(chf, extra[5], install_code(extra[5])))
    w.run()
    assert w.user.replies[-1].response_code == "E081101"
    assert store_contents(w.engine) == before

    # whitelisting again a device that is already in the full log is no seventh device
    w.send(w.supplier.whitelist(chf, bridge, install_code(bridge)))
    w.run()
    assert w.user.replies[-1].response_code == "I99"
