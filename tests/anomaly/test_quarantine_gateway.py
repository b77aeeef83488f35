"""Anomaly detection through signed DUIS over HTTP and the `althan ad` commands: a 150-device
11.4 over the test supplier's 100-devices-a-day threshold is quarantined (I99, N48, nothing sent,
no device in progress); released, it runs once; a second release is refused; a rejected one
never runs (E48); a DCC-wide threshold quarantines across two users; an unreviewed one
expires."""

from __future__ import annotations

from pathlib import Path

from anomaly_support import (
    SR,
    VERSION,
    Doc,
    FakeClock,
    alerts,
    answers_to,
    cli,
    cli_error,
    cli_json,
    deliveries,
    row_counts,
    seed_bridges,
    smwan_rows,
)
from fastapi.testclient import TestClient
from sqlalchemy import select

from althan.duis.xmldsig import verify
from althan.model import TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.assemble import OTHER_USER_EUI, Assembly
from althan.store.tables import service_requests
from althan.supplier.client import DuisClient, SignedRequest


def post(client: TestClient, a: Assembly, req: SignedRequest) -> Doc:
    r = client.post(
        f"/api/v1/service{req.service}",
        content=req.xml,
        headers={"content-type": "application/xml"},
    )
    assert r.status_code == 200, r.text[:300]
    return Doc(r.content, verify(r.content, a.dsp_trust).root)


def breach_of(alert: Doc) -> tuple[str, str | None, str | None]:
    """(breach element, RequestID, QuarantineEventRef) of an N48's QuarantinedRequest."""
    q = alert.root.find(f".//{SR}QuarantinedRequest")
    assert q is not None and len(q) == 1
    b = q[0]
    return (
        b.tag.removeprefix(SR),
        b.findtext(f"{SR}RequestID"),
        b.findtext(f"{SR}QuarantineEventRef"),
    )


def processed(a: Assembly) -> set[str]:
    with a.dsp.engine.connect() as conn:
        return set(conn.execute(select(service_requests.c.request_id)).scalars())


def test_quarantined_then_released_once_or_rejected(
    client: TestClient,
    assembly: Assembly,
    supplier: DuisClient,
    clock: FakeClock,
    data_dir: Path,
) -> None:
    image, devices = seed_bridges(assembly, clock(), 150)
    cli(
        data_dir,
        "ad",
        "set",
        "--user",
        str(TEST_SUPPLIER_EUI),
        "--srv",
        "11.4",
        "--max-devices",
        "100",
        "--window",
        "24h",
    )
    req = supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices)
    answer = post(client, assembly, req)
    # accepted (I99, no warning lists): nothing processed, nothing sent, no device in progress
    assert answer.response_code == "I99"
    assert answer.root.find(f".//{SR}DSPUpdatePPMIDFirmwareWarning") is None
    assert smwan_rows(assembly) == 0 and deliveries(assembly) == []
    assert req.request_id not in processed(assembly)
    [n48] = alerts(assembly, "N48")
    breach, rid, ref = breach_of(n48)
    assert (breach, rid) == ("ADUserThresholdBreach", req.request_id)
    assert ref is not None and ref.isdigit()
    [held] = cli_json(data_dir, "ad", "quarantine", "list")
    assert held["ref"] == int(ref) and held["request_id"] == req.request_id
    assert (held["user"], held["srv"], held["devices"], held["status"]) == (
        str(TEST_SUPPLIER_EUI),
        "11.4",
        150,
        "Quarantined",
    )
    assert "at most 100 devices per 1d" in held["reason"] and "names 150" in held["reason"]

    # a second one, rejected: never runs, the user is answered E48
    clock.advance(60)
    req2 = supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices)
    assert post(client, assembly, req2).response_code == "I99"
    ref2 = int(breach_of(alerts(assembly, "N48")[1])[2] or 0)
    assert cli_json(data_dir, "ad", "reject", str(ref2))["status"] == "Rejected"
    [rejected] = answers_to(assembly, req2.request_id)
    assert rejected.response_code == "E48"
    assert deliveries(assembly) == [] and smwan_rows(assembly) == 0

    # released: processed once, as if it had just arrived; its answer follows asynchronously
    out = cli_json(data_dir, "ad", "release", ref)
    assert (out["status"], out["code"]) == ("Released", "I0")
    [released] = answers_to(assembly, req.request_id)
    assert released.response_code == "I0"
    assert released.text(f".//{SR}ServiceReferenceVariant") == "11.4"
    got = deliveries(assembly)
    assert sorted(d for d, _s, _a in got) == sorted(devices)
    assert {(s, active) for _d, s, active in got} == {("Distributed", 1)}
    assert smwan_rows(assembly) == 3  # one FirmwareDistribution per CSP region
    assert req.request_id in processed(assembly) and req2.request_id not in processed(assembly)

    # decided once: a second release, a release of the rejected one, a late reject: refused
    before = row_counts(assembly)
    r = cli_error(data_dir, "ad", "release", ref)
    assert f"quarantine {ref} ({req.request_id}) is Released, not Quarantined" in r
    assert "is Rejected, not Quarantined" in cli_error(data_dir, "ad", "release", str(ref2))
    assert "is Released, not Quarantined" in cli_error(data_dir, "ad", "reject", ref)
    assert "no quarantined request with ref 99" in cli_error(data_dir, "ad", "release", "99")
    assert row_counts(assembly) == before
    listed = {
        e["ref"]: (e["status"], e["outcome"])
        for e in cli_json(data_dir, "ad", "quarantine", "list")
    }
    assert listed == {int(ref): ("Released", "I0"), ref2: ("Rejected", "E48")}


def test_dcc_wide_threshold_counts_every_user(
    client: TestClient,
    assembly: Assembly,
    supplier: DuisClient,
    clock: FakeClock,
    data_dir: Path,
) -> None:
    image, devices = seed_bridges(assembly, clock(), 10)
    cli(
        data_dir,
        "ad",
        "set",
        "--all-users",
        "--srv",
        "11.4",
        "--max-requests",
        "1",
        "--window",
        "1h",
    )
    # a second supplier (every CLI command re-registers the ZAZ1 users with their DCC Boxed
    # roles, so this comes last)
    cli(data_dir, "users", "add", "--eui", str(OTHER_USER_EUI), "--roles", "IS,GS")
    cert, key = assembly.zaz1[OTHER_USER_EUI]
    other = DuisClient(OTHER_USER_EUI, key, cert)
    first = post(
        client,
        assembly,
        supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices[:5]),
    )
    assert first.response_code == "I0"
    clock.advance(600)
    req = other.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices[5:])
    assert post(client, assembly, req).response_code == "I99"
    [n48] = alerts(assembly, "N48", OTHER_USER_EUI)
    assert breach_of(n48)[:2] == ("ADDCCThresholdBreach", req.request_id)
    [held] = cli_json(data_dir, "ad", "quarantine", "list")
    assert held["user"] == str(OTHER_USER_EUI)
    assert held["reason"].startswith("all users: 11.4 at most 1 requests per 1h; 1 in the window")
    assert alerts(assembly, "N48") == []  # the first user was not quarantined
    # an hour after the first, the window has room again (the other user's devices are not
    # its own: processed, answered with the warning list)
    clock.advance(3_001)
    later = post(
        client, assembly, other.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices[5:])
    )
    assert later.response_code == "W110401"
    assert later.text(f".//{SR}InvalidDeviceIDList") == ",".join(str(d) for d in devices[5:])


def test_an_unreviewed_quarantine_expires_and_a_release_refused_later_is_answered(
    client: TestClient,
    assembly: Assembly,
    supplier: DuisClient,
    clock: FakeClock,
    data_dir: Path,
) -> None:
    image, devices = seed_bridges(assembly, clock(), 3)
    cli(
        data_dir,
        "ad",
        "set",
        "--user",
        str(TEST_SUPPLIER_EUI),
        "--srv",
        "11.4",
        "--max-requests",
        "1",
        "--window",
        "7d",
    )
    assert (
        post(
            client,
            assembly,
            supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices),
        ).response_code
        == "I0"
    )
    # FirmwareVersion not the image's: quarantined before the SRV's rules look at it
    bad = supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION + 1), devices)
    late = supplier.update_ppmid_firmware(image, FirmwareVersion(VERSION), devices)
    assert post(client, assembly, bad).response_code == "I99"
    assert post(client, assembly, late).response_code == "I99"
    ref_bad, ref_late = (int(breach_of(a)[2] or 0) for a in alerts(assembly, "N48"))
    # released, the SRV's rule refuses it now: answered E110401, nothing delivered again
    before = len(deliveries(assembly))
    d = assembly.dsp.release(ref_bad, clock.advance(60))
    assert (d.status.value, d.code) == ("Released", "E110401")
    assert [x.response_code for x in answers_to(assembly, bad.request_id)] == ["E110401"]
    assert len(deliveries(assembly)) == before
    # the other expires 48 hours after it arrived, not before
    expiry = assembly.dsp.next_quarantine_expiry()
    assert expiry is not None
    assert assembly.dsp.expire_quarantine(expiry - (expiry - clock()) / 2) == []
    [gone] = assembly.dsp.expire_quarantine(expiry)
    assert (gone.ref, gone.status.value, gone.code) == (ref_late, "Expired", "E48")
    assert [x.response_code for x in answers_to(assembly, late.request_id)] == ["E48"]
    assert assembly.dsp.next_quarantine_expiry() is None
    assert "is Expired, not Quarantined" in cli_error(data_dir, "ad", "release", str(ref_late))
