"""A request whose body is another SRV's (found by fuzz/fuzz_http.py).

The DUIS schema lets ``sr:Body`` hold any Service Request's element, so a 12.2 header over an
``sr:ReadFirmwareVersion`` body is schema-valid; the handlers read the body they expect and
met nothing (a 12.2, 8.4 or 8.11 answered HTTP 500; an 11.2, 8.7.2 or 8.8.2 was accepted,
I99, and its device sent a command built from nothing). Each routed SRV is sent the body of
every other SRV the DSP routes, signed by the ZAZ1 test supplier with a fresh counter: each is
answered E19, signed, and changes nothing in the store.
"""

from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree
from sqlalchemy import Engine
from starlette.testclient import TestClient

from althan.duis.namespaces import SR
from althan.duis.srv import SERVICE_FOR_CV
from althan.duis.xmldsig import sign, verify
from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly
from althan.runtime.inventory import FleetSpec, seed_store, served_fleet
from althan.runtime.service import create_app
from gateway_support import FakeClock, store_contents

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def _by_srv(reference_dir: Path, routed: set[str]) -> dict[str, etree._Element]:
    out: dict[str, etree._Element] = {}
    for p in sorted((reference_dir / "duis" / "templates").iterdir()):
        root = etree.fromstring(p.read_bytes(), _SAFE)
        for sig in root.findall(f"{DS}Signature"):
            root.remove(sig)
        srv = (root.findtext(f"{SR}Header/{SR}ServiceReferenceVariant") or "").strip()
        if srv in routed:
            out.setdefault(srv, root)
    return out


def _store(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    contents: dict[str, list[tuple[object, ...]]] = store_contents(engine)
    return contents


def test_a_body_of_another_srv_is_e19_and_changes_nothing(
    assembly: Assembly, clock: FakeClock, reference_dir: Path
) -> None:
    client = TestClient(create_app(assembly, clock=clock), raise_server_exceptions=False)
    with assembly.dsp.engine.begin() as conn:
        seed_store(conn, assembly.dsp.images, served_fleet(FleetSpec(2, 1)), clock())
    routed = set(assembly.dsp.routes)
    templates = _by_srv(reference_dir, routed)
    assert len(templates) == len(routed), sorted(routed - set(templates))
    cert, key = assembly.zaz1[TEST_SUPPLIER_EUI]
    counter = 10_000
    wrong: dict[tuple[str, str], tuple[int, str]] = {}
    for srv, root in sorted(templates.items()):
        for other, theirs in sorted(templates.items()):
            if other == srv:
                continue
            doc = copy.deepcopy(root)
            body = doc.find(f"{SR}Body")
            assert body is not None
            their_body = theirs.find(f"{SR}Body")
            assert their_body is not None
            doc.replace(body, copy.deepcopy(their_body))
            rid = doc.find(f"{SR}Header/{SR}RequestID")
            assert rid is not None and rid.text is not None
            counter += 1
            rid.text = f"{TEST_SUPPLIER_EUI}:{rid.text.split(':')[1]}:{counter}"
            cv = int(doc.findtext(f"{SR}Header/{SR}CommandVariant") or "0")
            before = _store(assembly.dsp.engine)
            r = client.post(
                f"/api/v1/service{SERVICE_FOR_CV[cv]}",
                content=sign(doc, key, cert),
                headers={"content-type": "application/xml"},
            )
            code = r.headers.get("x-duis-response-code", "")
            if r.status_code != 200 or code != "E19":
                wrong[srv, other] = (r.status_code, code)
                continue
            assert (
                verify(r.content, assembly.dsp_trust).root.findtext(f"{SR}Header/{SR}ResponseCode")
                == "E19"
            )
            assert _store(assembly.dsp.engine) == before, (srv, other)
    assert wrong == {}
