"""`althan gbcs decode`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from typer.testing import CliRunner

from althan.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["gbcs", "decode", *args])
    return r.exit_code, r.stdout, r.stderr


def test_json_for_cs08_response_hex(reference_dir: Path) -> None:
    f = reference_dir / "gbcs/RTDS-4.5.0/11.2_CS08/CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX"
    code, out, _ = _run(
        "--json", "--keystore", str(reference_dir / "gbcs/keystore"), f.read_text().strip()
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["message_code"] == 0x0129 and doc["use_case"] == "CS08"
    assert doc["cra_flag"] == "response"
    assert doc["originator"] == "00-DB-12-34-56-78-90-A4"
    assert doc["target"] == "90-B3-D5-1F-30-00-00-02"
    assert doc["payload"]["firmware_version"] == "0123ABCD"
    assert (doc["signature"], doc["mac"]) == ("absent", "valid")


def test_file_base64_and_binary_inputs(reference_dir: Path, tmp_path: Path) -> None:
    f = reference_dir / "gbcs/RTDS-4.5.0/NA_CS09/CS09_NA_8F8B_ALERT_GBCS.HEX"
    data = bytes.fromhex(f.read_text().strip())
    ks = str(reference_dir / "gbcs/keystore")
    (tmp_path / "m.bin").write_bytes(data)
    (tmp_path / "m.b64").write_text(base64.b64encode(data).decode())
    for arg in (
        str(f),
        str(tmp_path / "m.bin"),
        str(tmp_path / "m.b64"),
        base64.b64encode(data).decode(),
    ):
        code, out, err = _run("--json", "--keystore", ks, arg)
        assert code == 0, err
        doc = json.loads(out)
        assert doc["use_case"] == "CS09" and doc["signature"] == "valid" and doc["mac"] == "absent"
        assert doc["payload"]["alert_code"] == 0x8F8B


def test_verdicts_without_keystore_and_tampered(reference_dir: Path) -> None:
    f = reference_dir / "gbcs/RTDS-4.5.0/NA_CCS08/CCS08_NA_NA_ALERT_GBCS.HEX"
    hexed = f.read_text().strip()
    code, out, _ = _run("--json", hexed)
    assert code == 0 and json.loads(out)["signature"] == "unknown-key"
    bad = hexed[:-2] + ("00" if hexed[-2:] != "00" else "01")
    code, out, _ = _run("--json", "--keystore", str(reference_dir / "gbcs/keystore"), bad)
    assert code == 0 and json.loads(out)["signature"] == "invalid"


def test_rich_output(reference_dir: Path) -> None:
    f = reference_dir / "gbcs/RTDS-4.5.0/8.11_CCS01/CCS01_8.11_SUCCESS_COMMAND_GBCS.HEX"
    code, out, _ = _run("--keystore", str(reference_dir / "gbcs/keystore"), str(f))
    assert code == 0
    assert "CCS01" in out and "00-DB-12-34-56-78-90-A0" in out and "valid" in out


def test_malformed_input_exit_2_one_line() -> None:
    for arg in ("DD0000", "not hex at all!", "DF09", ""):
        code, out, err = _run(arg)
        assert code == 2, arg
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err + out
