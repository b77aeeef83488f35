"""`althan pc parse`: the RTDS 11.2 CS08 response, CS09 alert and 6.15.2 CS02d response,
wrapped by a DSP in its own signed DUIS, are valid; any one byte of their GBCS changed is not.

Every byte position of each GBCS message is changed three ways (xor 0x01, 0x80, 0xFF: the low
bit, the high bit — which turns lengths and tags into other forms — and every bit), once in a
document the DSP re-signed around the changed GBCS (so only the GBCS checks can catch it, as
when a DSP relays what it was given) and once in the DSP's document as it was (so the XML
signature breaks too). Each of the 3 x (87 + 132 + 102) changes, both ways, must be "invalid" —
not "unknown certificate", not "unverifiable": the GBCS is compared with its document before
any key is looked up, so a changed EUI cannot send the checks to another device's certificate.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pc_world import (
    CS08_RESPONSE,
    ESME,
    RtdsDsp,
    gbcs_of,
    rtds_dsp,
    rtds_hex,
    template_body,
)
from typer.testing import CliRunner

from althan.cli import app
from althan.supplier.parse import Outcome, ResponseParser, Verdict

FLIPS = (0x01, 0x80, 0xFF)


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["pc", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def last_json(out: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return value


def _checks(doc: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {c["name"]: c["verdict"] for c in doc["checks"]}


def test_the_dsps_11_2_response_with_the_rtds_cs08_is_valid(
    cs08_doc: bytes, reference_dir: Path, tmp_path: Path
) -> None:
    assert gbcs_of(cs08_doc) == rtds_hex(reference_dir, CS08_RESPONSE)
    f = tmp_path / "11.2.xml"
    f.write_bytes(cs08_doc)
    code, out, err = run("parse", str(f), "--keystore", str(reference_dir / "gbcs/keystore"))
    assert code == 0, err
    assert out.startswith("valid: every check passed")
    code, out, _ = run(
        "parse", str(f), "--keystore", str(reference_dir / "gbcs/keystore"), "--json"
    )
    doc = last_json(out)
    assert code == 0 and doc["outcome"] == "valid" and doc["exit_code"] == 0
    assert doc["gbcs"]["use_case"] == "CS08" and doc["gbcs"]["cra_flag"] == "response"
    assert doc["gbcs"]["payload"]["firmware_version"] == "0123ABCD"
    assert doc["document"]["service_reference_variant"] == "11.2"
    checks = _checks(doc)
    assert checks["xml-signature"] == "valid"
    assert (checks["gbcs-signature"], checks["gbcs-mac"]) == ("absent", "valid")
    for name in ("originator", "target", "remote-party", "message-type", "use-case", "counter"):
        assert checks[name] == "valid", name


def test_the_cs09_alert_relayed_as_a_device_alert_is_valid(
    cs09_doc: bytes, reference_dir: Path, tmp_path: Path
) -> None:
    f = tmp_path / "8F8B.xml"
    f.write_bytes(cs09_doc)
    code, out, err = run(
        "parse", str(f), "--keystore", str(reference_dir / "gbcs/keystore"), "--json"
    )
    assert code == 0, err
    doc = last_json(out)
    assert doc["document"]["kind"] == "device-alert" and doc["document"]["alert_code"] == "8F8B"
    assert doc["gbcs"]["payload"]["firmware_version"] == "1234ABCD"
    checks = _checks(doc)
    assert (checks["gbcs-signature"], checks["gbcs-mac"]) == ("valid", "absent")
    assert checks["alert-code"] == checks["use-case"] == checks["originator"] == "valid"


def test_a_critical_commands_response_signed_by_the_device_is_valid(
    cs02d_doc: bytes, reference_dir: Path, tmp_path: Path
) -> None:
    f = tmp_path / "6.15.2.xml"
    f.write_bytes(cs02d_doc)
    code, out, err = run(
        "parse", str(f), "--keystore", str(reference_dir / "gbcs/keystore"), "--json"
    )
    assert code == 0, err
    doc = last_json(out)
    assert doc["gbcs"]["use_case"] == "CS02d" and doc["gbcs"]["payload"]["response_code"] == 0
    checks = _checks(doc)
    assert (checks["gbcs-signature"], checks["gbcs-mac"]) == ("valid", "absent")
    assert checks["counter"] == checks["target"] == "valid"


@pytest.mark.parametrize("which", ["cs08", "cs09", "cs02d"])
def test_any_one_byte_of_the_gbcs_changed_is_not_valid(
    which: str,
    world: RtdsDsp,
    parser: ResponseParser,
    cs08_doc: bytes,
    cs09_doc: bytes,
    cs02d_doc: bytes,
) -> None:
    doc = {"cs08": cs08_doc, "cs09": cs09_doc, "cs02d": cs02d_doc}[which]
    good = gbcs_of(doc)
    assert parser.parse(doc).outcome is Outcome.VALID
    b64_good = base64.b64encode(good)
    changed = 0
    for pos in range(len(good)):
        for flip in FLIPS:
            bad = bytearray(good)
            bad[pos] ^= flip
            resigned = parser.parse(world.resign(doc, bytes(bad)))
            assert resigned.outcome is Outcome.INVALID, (pos, flip, resigned.reason)
            assert resigned.check("xml-signature").verdict is Verdict.VALID  # type: ignore[union-attr]
            b64_bad = base64.b64encode(bytes(bad))
            as_sent = parser.parse(doc.replace(b64_good, b64_bad))
            assert as_sent.outcome is Outcome.INVALID, (pos, flip)
            assert as_sent.check("xml-signature").verdict is Verdict.INVALID  # type: ignore[union-attr]
            changed += 1
    assert changed == len(FLIPS) * len(good) and len(good) in (87, 132, 102)


def test_a_changed_byte_through_the_cli_is_not_valid(
    world: RtdsDsp, cs08_doc: bytes, reference_dir: Path, tmp_path: Path
) -> None:
    good = gbcs_of(cs08_doc)
    bad = bytearray(good)
    bad[-1] ^= 0x01  # the last byte of the MAC
    f = tmp_path / "bad.xml"
    f.write_bytes(world.resign(cs08_doc, bytes(bad)))
    code, out, _ = run("parse", str(f), "--keystore", str(reference_dir / "gbcs/keystore"))
    assert code == 1
    assert out.startswith("NOT VALID: gbcs-mac: the KA keys of 90-B3-D5-1F-30-00-00-02 and")
    code, out, _ = run(
        "parse", str(f), "--keystore", str(reference_dir / "gbcs/keystore"), "--json"
    )
    doc = last_json(out)
    assert code == 1 and doc["outcome"] == "invalid" and _checks(doc)["gbcs-mac"] == "invalid"


def _keystore(tmp_path: Path, reference_dir: Path, *names: str) -> Path:
    d = tmp_path / "keys"
    d.mkdir()
    for n in names:
        shutil.copy(reference_dir / "gbcs/keystore" / n, d / n)
    return d


def test_a_supplier_cannot_check_the_mac_of_a_response_to_an_acb_command(
    cs08_doc: bytes, reference_dir: Path, tmp_path: Path
) -> None:
    """The CS08 response's MAC is keyed by the device and the ACB (the command came from the
    ACB for the supplier): the device's certificates and the supplier's own KA key do not
    check it; the ACB's KA private key (published in the ZAZ1 test PKI) does."""
    keys = _keystore(
        tmp_path,
        reference_dir,
        "00db1234567890a4-ds.pem",
        "00db1234567890a4-ka.pem",
        "90b3d51f30010000-ka.key",
        "90b3d51f30010000-ka.pem",
    )
    f = tmp_path / "11.2.xml"
    f.write_bytes(cs08_doc)
    code, out, err = run("parse", str(f), "--keystore", str(keys), "--no-remote-parties", "--json")
    assert code == 9, err
    doc = last_json(out)
    assert doc["outcome"] == "unverifiable" and _checks(doc)["gbcs-mac"] == "unverifiable"
    assert "90-B3-D5-1F-30-00-00-02" in doc["reason"]
    # the DCC Boxed keystore (npm peer) holds the ZAZ1 ACB's KA private key
    code, out, err = run("parse", str(f), "--keystore", str(keys), "--json")
    assert code == 0, err
    assert _checks(last_json(out))["gbcs-mac"] == "valid"


def test_the_transform_answer_and_a_command_for_local_delivery(
    reference_dir: Path, tmp_path: Path
) -> None:
    """The pre-command carries no protection (expected); the CV 6 LocalCommand carries the
    supplier's signature (its ZAZ1 DS certificate) and the ACB's MAC (the ZAZ1 ACB KA key)."""
    w = rtds_dsp(tmp_path / "dsp", reference_dir)
    body = template_body(reference_dir, "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML")
    req = w.client.request("6.15.2", 4, body, ESME)
    answer = w.send(req)
    local = w.sign_and_send(req, answer, "6.15.2", 6)
    keys = ["--keystore", str(reference_dir / "gbcs/keystore"), "--json"]
    for doc, sig, mac, protection in (
        (answer, "absent", "absent", "a pre-command: no signature field, no MAC"),
        (local, "valid", "valid", "signature and MAC"),
    ):
        f = tmp_path / "doc.xml"
        f.write_bytes(doc)
        code, out, err = run("parse", str(f), *keys)
        assert code == 0, err
        result = last_json(out)
        checks = _checks(result)
        assert (checks["gbcs-signature"], checks["gbcs-mac"]) == (sig, mac)
        assert result["checks"][-1] == {
            "name": "gbcs-protection",
            "verdict": "valid",
            "detail": protection,
        }
