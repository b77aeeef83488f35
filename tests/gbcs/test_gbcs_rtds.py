"""Every RTDS vector of the firmware-flow folders: decode, verify, re-encode, tamper."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from gbcs_vectors import FOLDERS, vector_names

from althan.gbcs import (
    CraFlag,
    DeviceLogAddCommand,
    FirmwareActivationAlert,
    FirmwareTransferAlert,
    GbcsError,
    GbcsMessage,
    Keystore,
    RawPayload,
    ReadFirmwareVersionResponse,
    Verdict,
    decode,
    encode,
)
from althan.model import EUI64, FirmwareVersion

NAMES = vector_names()
# pre-commands carry neither signature nor MAC: a changed byte has nothing to fail
PROTECTED = [n for n in NAMES if "PRECOMMAND" not in n]


def _vector(vectors: dict[str, bytes], name: str) -> bytes:
    if name not in vectors:
        if os.environ.get("ALTHAN_REQUIRE_REFERENCE") == "1":
            pytest.fail(f"RTDS vector {name} is required (ALTHAN_REQUIRE_REFERENCE=1) but missing")
        pytest.skip("reference vectors absent")
    return vectors[name]


def test_all_folders_present(vectors: dict[str, bytes]) -> None:
    folders = {n.split("/")[0] for n in vectors}
    for pattern in FOLDERS:
        assert any(Path(f).match(pattern) for f in folders), pattern
    assert len(vectors) >= 70


@pytest.mark.parametrize("name", NAMES)
def test_vector_decodes_verifies_and_round_trips(
    name: str, vectors: dict[str, bytes], keystore: Keystore
) -> None:
    data = _vector(vectors, name)
    msg = decode(data)
    assert encode(msg) == data
    assert msg.raw == data
    assert not isinstance(msg.payload, RawPayload), "every use case of these folders is typed"
    assert msg.payload.encode() == msg.content
    sig = keystore.signature_verdict(msg)
    mac = keystore.mac_verdict(msg)
    assert sig in (Verdict.VALID, Verdict.ABSENT)
    assert mac in (Verdict.VALID, Verdict.ABSENT)
    if "PRECOMMAND" in name:
        assert (sig, mac) == (Verdict.ABSENT, Verdict.ABSENT)
        assert not msg.signature_field
    else:
        assert Verdict.VALID in (sig, mac), "every message on the wire is protected"
    assert (mac == Verdict.VALID) == (data[0] == 0xDD)


def test_use_case_names_are_in_the_gbcs_mapping_table(
    reference_dir: Path, vectors: dict[str, bytes]
) -> None:
    table = json.loads((reference_dir / "duis" / "gbcs-mapping-table.json").read_text())
    codes = {row["Code"] for row in table}
    for name, data in vectors.items():
        uc = decode(data).use_case
        assert uc in codes, (name, uc)
        if name.startswith("8.8.2_CS04B/CS04B_8.8.2_ERROR"):
            # the RTDS error vectors of 8.8.2 CS04B carry the CS04AC message code 0x000F
            assert uc == "CS04AC"
            continue
        assert uc in name, (name, uc)


def _mutations(data: bytes, rng: random.Random, exhaustive: bool) -> list[int]:
    if exhaustive:
        return list(range(len(data)))
    return sorted(set(rng.sample(range(len(data)), min(len(data), 60))) | {0, len(data) - 1})


@pytest.mark.parametrize("name", PROTECTED)
def test_any_changed_byte_fails_a_check_or_decoding(
    name: str, vectors: dict[str, bytes], keystore: Keystore
) -> None:
    data = _vector(vectors, name)
    rng = random.Random(name)
    exhaustive = len(data) <= 300
    for i in _mutations(data, rng, exhaustive):
        for delta in (0x01, 0x80):
            bad = bytearray(data)
            bad[i] ^= delta
            try:
                msg = decode(bytes(bad))
            except GbcsError as e:
                assert str(e)  # a clear message
                continue
            verdicts = {keystore.signature_verdict(msg), keystore.mac_verdict(msg)}
            assert Verdict.VALID not in verdicts or Verdict.INVALID in verdicts, (
                f"byte {i} ^ {delta:#x} went unnoticed"
            )
            assert Verdict.INVALID in verdicts or Verdict.UNKNOWN_KEY in verdicts, (i, verdicts)


def test_cs08_fields(vectors: dict[str, bytes]) -> None:
    cmd = decode(_vector(vectors, "11.2_CS08/CS08_11.2_SUCCESS_COMMAND_GBCS.HEX"))
    assert (cmd.message_code, cmd.use_case, cmd.cra_flag) == (0x0129, "CS08", CraFlag.COMMAND)
    assert cmd.originator == EUI64.parse("90-B3-D5-1F-30-00-00-02")
    assert cmd.target == EUI64.parse("00-DB-12-34-56-78-90-A4")
    assert cmd.transaction_id == 0x514
    assert cmd.supplementary_remote_party == EUI64.parse("90-B3-D5-1F-30-01-00-00")
    assert cmd.other_info.supplementary_remote_party_counter == 1000
    assert cmd.signature is None and cmd.mac is not None and len(cmd.mac) == 12
    ok = decode(_vector(vectors, "11.2_CS08/CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX"))
    assert ok.payload == ReadFirmwareVersionResponse(FirmwareVersion(0x0123ABCD), 0)
    err = decode(_vector(vectors, "11.2_CS08/CS08_11.2_ERROR_RESPONSE_GBCS.HEX"))
    assert err.payload == ReadFirmwareVersionResponse(FirmwareVersion(0), 1)


def test_cs09_and_ccs08_fields(vectors: dict[str, bytes]) -> None:
    cs09: GbcsMessage = decode(_vector(vectors, "NA_CS09/CS09_NA_8F8B_ALERT_GBCS.HEX"))
    assert cs09.message_code == 0x012B and cs09.cra_flag == CraFlag.ALERT
    p = cs09.payload
    assert isinstance(p, FirmwareActivationAlert)
    assert (p.alert_code, p.firmware_version, p.activation_status) == (
        0x8F8B,
        FirmwareVersion(0x1234ABCD),
        0,
    )
    assert p.execution_time.isoformat() == "2015-01-01T00:00:00+00:00"
    assert cs09.signature is not None and len(cs09.signature) == 64 and cs09.mac is None
    ccs08 = decode(_vector(vectors, "NA_CCS08/CCS08_NA_NA_ALERT_GBCS.HEX"))
    q = ccs08.payload
    assert isinstance(q, FirmwareTransferAlert)
    assert ccs08.originator == EUI64.parse("00-DB-12-34-56-78-90-A2")  # the CHF
    assert q.alert_code == 0x8F8A and q.response_code == 0
    assert q.entity_id == EUI64.parse("00-DB-12-34-56-78-90-A4")
    assert q.firmware_version == FirmwareVersion(0x0123ABCD)


def test_ccs01_fields(vectors: dict[str, bytes]) -> None:
    msg = decode(_vector(vectors, "8.11_CCS01/CCS01_8.11_SUCCESS_COMMAND_GBCS.HEX"))
    p = msg.payload
    assert isinstance(p, DeviceLogAddCommand)
    assert p.device_id == EUI64.parse("00-DB-12-34-56-78-90-A0")
    assert p.install_code == b"0123456789ABCDEF"
    assert (p.join_timeout, p.joining_enabled, p.invoke_id) == (90, True, 0x20000516)


def test_whole_rtds_corpus_decodes_and_round_trips(rtds_dir: Path) -> None:
    files = sorted(rtds_dir.glob("*/*.HEX"))
    assert len(files) == 1275
    for f in files:
        data = bytes.fromhex(f.read_text().strip())
        assert encode(decode(data)) == data, f.name
