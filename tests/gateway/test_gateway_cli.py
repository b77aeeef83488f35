"""`althan users add/list` and `althan serve` (a real uvicorn server on a free port)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from typer.testing import CliRunner

from althan.cli import app as althan
from althan.cli.serve import serve
from althan.cli.users import app as users_app
from althan.duis.schema import find_tool_jar
from althan.duis.xmldsig import verify
from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import build_dsp
from althan.smki.zaz1 import load_zaz1
from althan.supplier.client import DuisClient

app = typer.Typer()
app.add_typer(users_app, name="users")
app.command("serve")(serve)


def test_users_add_and_list(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    cert, _key = load_zaz1(find_tool_jar())[TEST_SUPPLIER_EUI]
    pem = tmp_path / "sup.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    data = tmp_path / "data"
    r = CliRunner().invoke(
        app,
        [
            "users",
            "add",
            "--eui",
            str(TEST_SUPPLIER_EUI),
            "--roles",
            "IS,GS",
            "--cert",
            str(pem),
            "--endpoint",
            "http://127.0.0.1:9/duis",
            "--data-dir",
            str(data),
        ],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        app,
        ["users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS", "--data-dir", str(data)],
    )  # update, keeps the endpoint
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["users", "list", "--data-dir", str(data)])
    assert r.exit_code == 0
    assert str(TEST_SUPPLIER_EUI) in r.output and "http://127.0.0.1:9/duis" in r.output
    assert str(cert.serial_number) in r.output
    for bad in (
        ["--eui", "nope", "--roles", "IS"],
        ["--eui", "00-DB-12-34-56-78-00-09", "--roles", "XX"],
        ["--eui", "00-DB-12-34-56-78-00-09", "--roles", "IS", "--endpoint", "ftp://x"],
    ):
        r = CliRunner().invoke(app, ["users", "add", *bad, "--data-dir", str(data)])
        assert r.exit_code == 2, (bad, r.output)


def test_serve_listens_on_dcc_boxeds_port_8079_by_default() -> None:
    """README and docs/duis.md: the gateway's default port is DCC Boxed's, 8079."""
    r = CliRunner().invoke(
        althan, ["serve", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1", "ALTHAN_PORT": None}
    )
    assert r.exit_code == 0, r.output
    [line] = [x for x in r.output.splitlines() if "--port" in x]
    assert re.search(r"\[default: (\d+)\]", line)[1] == "8079"  # type: ignore[index]
    root = Path(__file__).resolve().parents[2]
    assert "default port 8079" in (root / "docs" / "duis.md").read_text()
    assert "--port 8079" in (root / "README.md").read_text()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_serve_answers_signed_duis_over_real_http(tmp_path: Path) -> None:
    port = _free_port()
    data = tmp_path / "data"
    code = (
        "import typer, sys; from althan.cli.serve import serve; "
        "a = typer.Typer(); a.command()(serve); a.command('x')(lambda: None); a()"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "serve",
            "--port",
            str(port),
            "--smki-port",
            "0",
            "--data-dir",
            str(data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        cert, key = load_zaz1(find_tool_jar())[TEST_SUPPLIER_EUI]
        req = DuisClient(TEST_SUPPLIER_EUI, key, cert).read_inventory(TEST_SUPPLIER_EUI)
        deadline = time.monotonic() + 90  # bounds the wait for a start (slow when loaded)
        while True:
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/serviceD",
                    content=req.xml,
                    headers={"content-type": "application/xml"},
                    timeout=5,
                )
                break
            except httpx.ConnectError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/xml")
        assert r.headers["x-duis-response-code"] == "E080201"  # users were registered
        verify(r.content, build_dsp(tmp_path / "check").dsp_trust)
        assert httpx.post(f"http://127.0.0.1:{port}/nope", content=b"").status_code == 404
    finally:
        proc.terminate()
        proc.wait(10)
