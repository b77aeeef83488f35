"""The SMKI repository over HTTP, queried by DCC Boxed's own client, `@smartdcc/dccboxed-keystore`:
device certificates by subject alternative name and by serial, as DCC Boxed serves them."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization

from althan.duis.peers import keystore_json
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.runtime.smki_http import create_smki_app
from althan.smki.boxed_keystore import load_boxed_keystore
from althan.smki.device_pki import DevicePki
from althan.smki.repository import SmkiRepository

DEVICE = EUI64.parse("00-DB-12-34-56-78-B2-01")
PKI = DevicePki.generate(11)

NODE = """
const ks = require(process.argv[1] + '/@smartdcc/dccboxed-keystore');
(async () => {
  const store = await ks.BoxedKeyStore.new(process.argv[2]);
  try {
    const bySan = await store.query({eui: process.argv[3], keyUsage: ks.KeyUsage.digitalSignature,
                                     lookup: 'certificate'});
    const bySerial = await store.query({serial: BigInt('0x' + process.argv[4]),
                                        lookup: 'certificate'});
    const missing = await store.query({eui: '00-db-00-00-00-00-00-09',
                                       keyUsage: ks.KeyUsage.keyAgreement, lookup: 'certificate'});
    console.log(JSON.stringify({
      san: (bySan || []).map(c => ({eui: c.eui.toString(), serial: c.serial.toString(16),
                                    pem: c.certificate.toString()})),
      serial: bySerial ? {eui: bySerial.eui.toString(), usage: bySerial.keyUsage} : null,
      missing: missing,
    }));
  } finally { await store.cleanup(); }
})().catch(e => { console.error(String(e)); process.exit(1); });
"""


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture
def smki_url() -> Iterator[str]:
    repo = SmkiRepository()
    for k in load_boxed_keystore(keystore_json()):
        repo.add_organisation(k.cert)
    for usage in ("ds", "ka"):
        repo.add_device(DEVICE, PKI.cert_for(DEVICE, usage))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_smki_app(repo), host="127.0.0.1", port=port, log_level="warning")
    )
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    t.join(5)


def test_dccboxed_keystore_retrieves_a_device_certificate(
    smki_url: str, node_modules: Path
) -> None:
    node = shutil.which("node")
    assert node is not None
    ka_serial = f"{PKI.cert_for(DEVICE, 'ka').serial_number:x}"
    out = subprocess.run(
        [node, "-e", NODE, str(node_modules), smki_url, str(DEVICE).lower(), ka_serial],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    want_pem = PKI.cert_for(DEVICE, "ds").public_bytes(serialization.Encoding.PEM).decode()
    assert [c["eui"] for c in got["san"]] == [DEVICE.compact.lower()]
    assert got["san"][0]["pem"].strip() == want_pem.strip()
    assert got["serial"] == {"eui": DEVICE.compact.lower(), "usage": [4]}  # keyAgreement
    assert got["missing"] is None


def test_organisation_search_and_refusals(smki_url: str) -> None:
    base = f"http://{smki_url}/services"
    r = httpx.post(
        f"{base}/certificatesearch",
        content=f"<CertificateSearchRequest><CertificateSubjectName>{TEST_SUPPLIER_EUI}"
        "</CertificateSubjectName></CertificateSearchRequest>",
        headers={"content-type": "application/xml"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert r.text.count("<Result>") >= 2 and "<CertificateRole>2</CertificateRole>" in r.text
    for body, status in (
        (b"<CertificateSearchRequest/>", 401),
        (b"not xml", 401),
        (b"<!DOCTYPE x [<!ENTITY e 'x'>]><CertificateSearchRequest/>", 401),
        (
            b"<CertificateDataRequest><CertificateSerial>zz</CertificateSerial></CertificateDataRequest>",
            401,
        ),
        (
            b"<CertificateDataRequest><CertificateSerial>1</CertificateSerial></CertificateDataRequest>",
            402,
        ),
    ):
        path = "retrievecertificate" if b"DataRequest" in body else "certificatesearch"
        assert httpx.post(f"{base}/{path}", content=body).status_code == status, body
