"""What a newcomer met on a first try (issue 11, point 6), through the `althan` command."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from althan.cli import app
from althan.duis.namespaces import SR
from althan.duis.xmldsig import verify
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI
from althan.runtime.assemble import build_dsp
from althan.runtime.service import create_app
from althan.supplier.client import DuisClient
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_read_only_commands_refuse_a_missing_store_and_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    for cmd in (("users", "list"), ("cpl", "list"), ("report", "--json")):
        code, _out, err = run(*cmd, "--data-dir", str(missing))
        assert code == 2, cmd
        assert "no althan store" in err, (cmd, err)
        assert not missing.exists(), cmd


def test_users_added_before_the_first_start_keep_the_zaz1_users_and_their_endpoint(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    endpoint = "http://127.0.0.1:9/smartdcc/duis"
    code, _o, err = run(
        "users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
        "--endpoint", endpoint, "--data-dir", str(data),
    )  # fmt: skip
    assert code == 0, err
    image = tmp_path / "fw.ota"
    image.write_bytes(build_test_image(0x1234, 0x0084, 0x20000, min_hw=1, max_hw=2))
    code, _o, err = run(
        "cpl", "add", str(image), "--as", str(ALTHANCO_DEFAULT_EUI), "--data-dir", str(data)
    )
    assert code == 0, err
    code, _o, _e = run("cpl", "list", "--data-dir", str(data))
    assert code == 0
    code, out, _e = run("users", "list", "--data-dir", str(data))
    assert code == 0
    assert endpoint in out  # no cpl command erased the supplier's endpoint
    for eui in (TEST_SUPPLIER_EUI, ALTHANCO_DEFAULT_EUI, EUI64.parse("90-B3-D5-1F-30-02-00-00")):
        assert str(eui) in out


def test_cpl_add_names_the_acting_user(tmp_path: Path) -> None:
    image = tmp_path / "fw.ota"
    image.write_bytes(build_test_image(0x1234, 0x0084, 0x20000, min_hw=1, max_hw=2))
    code, _o, err = run("cpl", "add", str(image), "--data-dir", str(tmp_path / "d"))
    assert code == 2 and "--as" in err
    code, _o, err = run(
        "cpl", "add", str(image), "--as", str(TEST_SUPPLIER_EUI), "--data-dir", str(tmp_path / "d")
    )
    assert code == 1 and "not AltHANCo" in err


def test_firmware_build_takes_a_duis_style_version(tmp_path: Path) -> None:
    out = tmp_path / "fw.ota"
    code, _o, err = run(
        "firmware", "build", "--manufacturer", "0x1234", "--image-type", "0x0084",
        "--version", "00000002", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert parse_ota(out.read_bytes()).header.file_version == 2


def _new_user(eui: EUI64) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"supplier {eui}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_a_user_registered_while_the_gateway_runs_is_trusted_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assembly = build_dsp(data)
    eui = EUI64.parse("00-DB-12-34-56-78-5E-01")
    key, cert = _new_user(eui)
    pem = tmp_path / "new.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    client = DuisClient(eui, key, cert)
    with TestClient(create_app(assembly)) as http:

        def code_of(req_xml: bytes, service: str) -> str | None:
            r = http.post(
                f"/api/v1/service{service}",
                content=req_xml,
                headers={"content-type": "application/xml"},
            )
            return verify(r.content, assembly.dsp_trust).root.findtext(
                f"{SR}Header/{SR}ResponseCode"
            )

        req = client.read_inventory(eui)
        assert code_of(req.xml, req.service) == "E2"  # not registered yet
        code, _o, err = run(
            "users", "add", "--eui", str(eui), "--roles", "IS", "--cert", str(pem),
            "--data-dir", str(data),
        )  # fmt: skip
        assert code == 0, err
        req = client.read_inventory(eui)
        assert code_of(req.xml, req.service) == "E080201"  # trusted: an answer about the device
