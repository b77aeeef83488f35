from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from althan.cli import app
from althan.duis.xmldsig import TrustStore, verify

runner = CliRunner()
T82 = "8.2_READ_INVENTORY_REQUEST_DUIS.XML"


def _one_line_error(result_output: str) -> None:
    lines = [ln for ln in result_output.splitlines() if ln.strip()]
    assert len(lines) == 1, result_output
    assert "Traceback" not in result_output


def test_sign_then_verify(templates_dir: Path, tmp_path: Path, trust: TrustStore) -> None:
    out = tmp_path / "signed.xml"
    r = runner.invoke(app, ["duis", "sign", str(templates_dir / T82), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert verify(out.read_bytes(), trust).signer.eui is not None
    r = runner.invoke(app, ["duis", "verify", str(out)])
    assert r.exit_code == 0
    assert r.output.strip() == (
        "valid: signed by 90-B3-D5-1F-30-01-00-00 (serial 27572613927499351639968579586655397031)"
    )


def test_sign_with_explicit_key(reference_dir: Path, templates_dir: Path, tmp_path: Path) -> None:
    z = reference_dir / "smki" / "zaz1"
    out = tmp_path / "s.xml"
    r = runner.invoke(
        app,
        [
            "duis",
            "sign",
            str(templates_dir / T82),
            "-o",
            str(out),
            "--key",
            str(z / "xml-sign-90B3D51F30020000-ds.key"),
            "--cert",
            str(z / "xml-sign-90B3D51F30020000-ds.pem"),
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["duis", "verify", str(out)])
    assert r.exit_code == 1
    assert r.output.startswith("error: OriginatorMismatch")
    _one_line_error(r.output)
    r = runner.invoke(app, ["duis", "sign", str(templates_dir / T82), "--key", str(out)])
    assert r.exit_code == 1 and "--key and --cert" in r.output


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        ("signing-tool/readfw-response-badsignature.xml", "SignatureInvalid"),
        ("signing-tool/readfw-response-no-signature.xml", "SignatureMissing"),
        ("signing-tool/readfw-response-nonexist-serial.xml", "UnknownCertificate"),
        ("signing-tool/duis-xxe.xml", "DtdForbidden"),
    ],
)
def test_verify_failures(samples_dir: Path, sample: str, reason: str) -> None:
    r = runner.invoke(app, ["duis", "verify", str(samples_dir / sample)])
    assert r.exit_code == 1
    assert r.output.startswith(f"error: {reason}: ")
    _one_line_error(r.output)


def test_verify_with_reference_dir(reference_dir: Path, samples_dir: Path) -> None:
    sample = samples_dir / "signing-tool/read-inventory-response-5.4.xml"
    r = runner.invoke(app, ["duis", "verify", str(sample)])
    assert r.exit_code == 1  # the jar lacks the dSPXmlSign certificate
    r = runner.invoke(
        app, ["duis", "verify", str(sample), "--zaz1-dir", str(reference_dir / "smki/zaz1")]
    )
    assert r.exit_code == 0, r.output
    assert "90-B3-D5-1F-30-00-00-02" in r.output


def test_validate(reference_dir: Path, templates_dir: Path, samples_dir: Path) -> None:
    r = runner.invoke(app, ["duis", "validate", str(templates_dir / T82)])
    assert r.exit_code == 0 and "DUIS 5.1 + MP170" in r.output
    r = runner.invoke(
        app,
        [
            "duis",
            "validate",
            str(templates_dir / T82),
            "--schema-dir",
            str(reference_dir / "duis/schema/5.4"),
        ],
    )
    assert r.exit_code == 0 and "DUIS 5.4" in r.output
    r = runner.invoke(
        app,
        [
            "duis",
            "validate",
            str(samples_dir / "duis-sign-wrap/8.2_READ_INVENTORY_REQUEST_DUIS-invalid.XML"),
        ],
    )
    assert r.exit_code == 1 and r.output.startswith("error: SchemaInvalid: line 4:")
    _one_line_error(r.output)
    r = runner.invoke(app, ["duis", "validate", "/nonexistent/file.xml"])
    assert r.exit_code == 1
    _one_line_error(r.output)


@pytest.fixture
def server() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(self.headers["Content-Type"].encode() + b"|" + body)
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            reply = b"<ok/>"
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/api/v1/serviceD", received
    finally:
        srv.shutdown()
        srv.server_close()


def test_send(server: tuple[str, list[bytes]], templates_dir: Path, trust: TrustStore) -> None:
    url, received = server
    r = runner.invoke(app, ["duis", "send", str(templates_dir / T82), "--url", url, "--sign"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["HTTP 200", "<ok/>"]
    ctype, body = received[0].split(b"|", 1)
    assert ctype == b"application/xml"
    verify(body, trust)


def test_send_unreachable(templates_dir: Path) -> None:
    r = runner.invoke(
        app, ["duis", "send", str(templates_dir / T82), "--url", "http://127.0.0.1:9/x"]
    )
    assert r.exit_code == 1
    _one_line_error(r.output)
