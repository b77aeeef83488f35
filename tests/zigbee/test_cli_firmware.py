"""`althan firmware inspect|build` through typer's CliRunner."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from althan.cli import app
from althan.zigbee.ota import parse_ota, verify_gbcs_signature

runner = CliRunner()

UBISYS = "10F2-7B2A-0000-0005-02000230-m7b-r0.ota.zigbee"


def _write_key(path: Path, seed: int) -> ec.EllipticCurvePrivateKey:
    key = ec.derive_private_key(seed, ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def _write_pub(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def test_inspect_json_real_file(reference_dir: Path) -> None:
    path = reference_dir / "zigbee-ota" / UBISYS
    result = runner.invoke(app, ["firmware", "inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # exactly one JSON object
    doc = json.loads(result.stdout)
    assert doc["manufacturer_code"] == 0x10F2
    assert doc["image_type"] == 0x7B2A
    assert doc["file_version"] == 0x02000230
    assert doc["stack_version"] == 2
    assert doc["header_field_control"] == 4
    assert doc["header_string"] == "ubisys R0 2.0.0#e976528"
    assert doc["total_image_size"] == 113150
    assert doc["form"] == "zigbee"
    assert doc["sub_elements"] == [
        {"tag": 0xF7BD, "length": 160},
        {"tag": 0x0000, "length": 112896},
        {"tag": 0x0003, "length": 16},
    ]
    assert doc["minimum_hardware_version"] == 0 and doc["maximum_hardware_version"] == 5
    assert doc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc["signature_valid"] is None


def test_inspect_table_shows_wrapper_and_trailing(reference_dir: Path) -> None:
    path = reference_dir / "zigbee-ota" / "1021-000f-004745ff-NLL.zigbee"
    result = runner.invoke(app, ["firmware", "inspect", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "0x1021" in out and "0x004745FF" in out
    assert "Upgrade Image" in out and "255081" in out
    assert "legrand at offset 4" in out
    assert hashlib.sha256(path.read_bytes()).hexdigest() in out


def test_inspect_gbcs_template_image(reference_dir: Path, tmp_path: Path) -> None:
    text = (
        reference_dir / "duis" / "templates" / "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML"
    ).read_text()
    m = re.search(r"FirmwareImage>([^<]+)<", text)
    assert m
    f = tmp_path / "esme.ota"
    f.write_bytes(base64.b64decode(m.group(1)))
    doc = json.loads(runner.invoke(app, ["firmware", "inspect", str(f), "--json"]).stdout)
    assert doc["form"] == "gbcs"
    assert doc["gbcs_signature_present"] is True
    assert doc["force_replace"] is False
    assert doc["sub_elements"] == [{"tag": 0, "length": 235}]
    # the test supplier's DS certificate (RTDS keystore) verifies it; the network operator's not
    keystore = reference_dir / "gbcs" / "keystore"
    for cert, valid in (("90b3d51f30010000-ds.pem", True), ("90b3d51f30020000-ds.pem", False)):
        args = ["firmware", "inspect", str(f), "--json", "--public-key", str(keystore / cert)]
        assert json.loads(runner.invoke(app, args).stdout)["signature_valid"] is valid


@pytest.mark.parametrize(
    ("cut", "what"),
    [(0, "OTA magic"), (30, "inside the OTA header"), (5000, "total_image_size announces")],
)
def test_inspect_malformed_exit_2(reference_dir: Path, tmp_path: Path, cut: int, what: str) -> None:
    data = (reference_dir / "zigbee-ota" / UBISYS).read_bytes()
    bad = tmp_path / "bad.ota"
    bad.write_bytes(data[:cut])
    for extra in ([], ["--json"]):
        result = runner.invoke(app, ["firmware", "inspect", str(bad), *extra])
        assert result.exit_code == 2
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ") and what in lines[0]
        assert "Traceback" not in result.stderr


def test_inspect_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["firmware", "inspect", str(tmp_path / "nope.ota")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read")


def test_build_hex_numbers_and_inspect(tmp_path: Path) -> None:
    out = tmp_path / "img.ota"
    args = [
        "firmware",
        "build",
        "--manufacturer",
        "0x1234",
        "--image-type",
        "0x0001",
        "--version",
        "0x00000002",
        "--min-hw",
        "1",
        "--max-hw",
        "3",
        "--size",
        "2048",
        "-o",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    img = parse_ota(out.read_bytes())
    h = img.header
    assert (h.manufacturer_code, h.image_type, h.file_version) == (0x1234, 1, 2)
    assert (h.minimum_hardware_version, h.maximum_hardware_version) == (1, 3)
    assert img.form == "gbcs" and len(img.manufacturer_image) == 2048
    assert img.gbcs_signature is None
    # deterministic: building again gives the same bytes
    out2 = tmp_path / "img2.ota"
    assert runner.invoke(app, [*args[:-1], str(out2)]).exit_code == 0
    assert out2.read_bytes() == out.read_bytes()


def test_build_zigbee_form(tmp_path: Path) -> None:
    out = tmp_path / "z.ota"
    result = runner.invoke(
        app,
        [
            "firmware",
            "build",
            "--manufacturer",
            "4660",
            "--image-type",
            "7",
            "--version",
            "0x10",
            "--form",
            "zigbee",
            "--size",
            "100",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(runner.invoke(app, ["firmware", "inspect", str(out), "--json"]).stdout)
    assert doc["form"] == "zigbee" and doc["manufacturer_code"] == 0x1234
    assert doc["sub_elements"] == [{"tag": 0, "length": 100}]


def test_build_signed_and_verify(tmp_path: Path) -> None:
    key = _write_key(tmp_path / "sign.pem", 0x5151)
    _write_pub(tmp_path / "pub.pem", key)
    _write_pub(tmp_path / "other.pem", ec.derive_private_key(0x7777, ec.SECP256R1()))
    out = tmp_path / "signed.ota"
    result = runner.invoke(
        app,
        [
            "firmware",
            "build",
            "--manufacturer",
            "0x121D",
            "--image-type",
            "0x0084",
            "--version",
            "0xACDCACDC",
            "--sign-key",
            str(tmp_path / "sign.pem"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    img = parse_ota(out.read_bytes())
    assert verify_gbcs_signature(img, key.public_key())
    good = runner.invoke(
        app, ["firmware", "inspect", str(out), "--json", "--public-key", str(tmp_path / "pub.pem")]
    )
    assert json.loads(good.stdout)["signature_valid"] is True
    bad = runner.invoke(
        app,
        ["firmware", "inspect", str(out), "--json", "--public-key", str(tmp_path / "other.pem")],
    )
    assert json.loads(bad.stdout)["signature_valid"] is False
    table = runner.invoke(
        app, ["firmware", "inspect", str(out), "--public-key", str(tmp_path / "pub.pem")]
    )
    assert "signature valid" in table.stdout and "yes" in table.stdout


@pytest.mark.parametrize(
    "bad_args",
    [
        ["--manufacturer", "0x10000"],
        ["--manufacturer", "zz"],
        ["--manufacturer", "1", "--form", "weird"],
        ["--manufacturer", "1", "--min-hw", "1"],
    ],
)
def test_build_bad_arguments(tmp_path: Path, bad_args: list[str]) -> None:
    args = [
        "firmware",
        "build",
        *bad_args,
        "--image-type",
        "1",
        "--version",
        "1",
        "-o",
        str(tmp_path / "x.ota"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert not (tmp_path / "x.ota").exists()
