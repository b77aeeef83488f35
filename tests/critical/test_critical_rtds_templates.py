"""The DCC's request templates of the critical SRVs althan builds, through the DSP's own
transform: each template (6.15.1 CS02b Supplier by Supplier immediate, future-dated and
cancellation; 6.15.2 CS02d; 8.1.1 ECS70 commissioning) re-signed by the ZAZ1 test supplier,
its originator, and POSTed (CV 4, /serviceT) to a DSP whose inventory holds the templates'
ESME. The sr:PreCommand of its I0 is the RTDS 4.5.0 pre-command byte for byte: every field the
DSP reads from the DUIS body reaches the GBCS as the DCC's vectors have it (the execution
date-time and DUIS's cancellation date, the floor seq numbers, the time-based CPV flag, the
certificates, the clock and its tolerance, the RequestID counter as transaction ID).

The 6.15.1 templates (DUIS 4.9.1) carry re-issued certificates of the same profile as the
RTDS ones: they are replaced by the RTDS pre-command's own before signing.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from althan import gbcs
from althan.duis.namespaces import SR
from althan.duis.xmldsig import sign
from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.runtime.inventory import FleetSpec, seed_store, served_fleet
from althan.runtime.service import create_app
from gateway_support import FakeClock

RTDS = "gbcs/RTDS-4.5.0"
TEMPLATES = "duis/templates"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
CASES = {
    # template: the RTDS pre-command it becomes
    "CS02bSupplierBySupplier_6.15.1_IMMEDIATE": "6.15.1_CS02bSupplierBySupplier",
    "CS02bSupplierBySupplier_6.15.1_FUTURE_DATED": "6.15.1_CS02bSupplierBySupplier",
    "CS02bSupplierBySupplier_6.15.1_CANCELLATION": "6.15.1_CS02bSupplierBySupplier",
    "CS02d_6.15.2": "6.15.2_CS02d",
    "ECS70Commission_8.1.1": "8.1.1_ECS70Commission",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class Dcc:
    """A DSP with the served inventory (the templates' devices), answering over HTTP."""

    def __init__(self, client: TestClient, a: Assembly) -> None:
        self.client, self.a = client, a

    def transform(self, root: etree._Element) -> tuple[str, bytes]:
        """Sign `root` as the ZAZ1 test supplier, POST it to /serviceT: (code, pre-command)."""
        for sig in root.findall(f"{DS}Signature"):
            root.remove(sig)
        cert, key = self.a.zaz1[TEST_SUPPLIER_EUI]
        r = self.client.post(
            "/api/v1/serviceT",
            content=sign(root, key, cert),
            headers={"content-type": "application/xml"},
        )
        assert r.status_code == 200, r.text[:300]
        answer = etree.fromstring(r.content, _PARSER)
        code = answer.findtext(f"{SR}Header/{SR}ResponseCode") or ""
        pre = answer.findtext(f".//{SR}PreCommand/{SR}GBCSPayload")
        return code, base64.b64decode(pre) if pre else b""


@pytest.fixture
def dcc(tmp_path: Path) -> Iterator[Dcc]:
    clock = FakeClock()
    a = build_dsp(tmp_path / "data")
    register_test_users(a, clock())
    with a.dsp.engine.begin() as conn:
        seed_store(conn, a.dsp.images, served_fleet(FleetSpec(1, 1)), clock())
    with TestClient(create_app(a, clock=clock)) as client:
        yield Dcc(client, a)


def _hex(reference_dir: Path, folder: str, name: str) -> bytes:
    text = (reference_dir / RTDS / folder / f"{name}_SUCCESS_PRECOMMAND_GBCS.HEX").read_text()
    return bytes.fromhex("".join(text.split()))


def _template(reference_dir: Path, name: str) -> etree._Element:
    path = reference_dir / TEMPLATES / f"{name}_SUCCESS_REQUEST_DUIS.XML"
    return etree.fromstring(path.read_bytes(), _PARSER)


def _with_rtds_certificates(root: etree._Element, rtds: bytes) -> None:
    """The 6.15.1 body's replacement and certification path certificates: the RTDS ones."""
    msg = gbcs.decode(rtds)
    assert isinstance(msg.payload, gbcs.UpdateSecurityCredentialsCommand)
    update = gbcs.CredentialsUpdate.from_payload(msg.payload)
    group = root.find(f".//{SR}SupplierOrNetworkOperatorCertificates")
    assert group is not None and len(group) == len(update.replacements) == 3
    for e, rep in zip(group, update.replacements, strict=True):
        e.text = base64.b64encode(rep.certificate).decode()
    [path] = root.findall(f".//{SR}CertificationPathCertificates/{SR}Certificate")
    [ca] = msg.payload.certificates
    path.text = base64.b64encode(ca).decode()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_dsps_pre_command_of_a_dcc_template_is_the_rtds_one(
    dcc: Dcc, reference_dir: Path, name: str
) -> None:
    rtds = _hex(reference_dir, CASES[name], name)
    root = _template(reference_dir, name)
    if "CS02b" in name:
        _with_rtds_certificates(root, rtds)
    code, pre = dcc.transform(root)
    assert code == "I0"
    assert pre.hex() == rtds.hex()


def test_apply_time_based_cpv_checks_reads_as_an_xs_boolean(dcc: Dcc, reference_dir: Path) -> None:
    """xs:boolean is true, false, 1 or 0: "1" makes the CS02b that "true" makes, "0" the one
    "false" makes, and the two differ in the flag alone."""
    name = "CS02bSupplierBySupplier_6.15.1_IMMEDIATE"
    rtds = _hex(reference_dir, CASES[name], name)
    seq = gbcs.decode(rtds).transaction_id
    updates: dict[str, gbcs.CredentialsUpdate] = {}
    for n, value in enumerate(("true", "1", "false", "0"), start=1):
        root = _template(reference_dir, name)
        _with_rtds_certificates(root, rtds)
        cpv = root.find(f".//{SR}ApplyTimeBasedCPVChecks")
        assert cpv is not None
        cpv.text = value
        rid = root.find(f"{SR}Header/{SR}RequestID")
        assert rid is not None and rid.text is not None
        head, _sep, counter = rid.text.rpartition(":")
        rid.text = f"{head}:{int(counter) + n}"  # each a new request of the user
        code, pre = dcc.transform(root)
        assert code == "I0", value
        updates[value] = _credentials(pre, seq + n)
    assert updates["1"] == updates["true"] and updates["1"].apply_time_based_cpv is True
    assert updates["0"] == updates["false"] and updates["0"].apply_time_based_cpv is False
    assert dataclasses.replace(updates["0"], apply_time_based_cpv=True) == updates["1"]


def _credentials(pre: bytes, seq: int) -> gbcs.CredentialsUpdate:
    """The credentials update of `pre`, its seq number (the RequestID counter) checked and then
    set to 0, so that updates of two requests compare."""
    msg = gbcs.decode(pre)
    assert isinstance(msg.payload, gbcs.UpdateSecurityCredentialsCommand)
    update = gbcs.CredentialsUpdate.from_payload(msg.payload)
    assert update.seq_number == seq
    return dataclasses.replace(update, seq_number=0)
