"""All 297 DCC reference templates, signed by the reference tool, through the HTTP gateway."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree

from althan.duis.xmldsig import verify
from althan.runtime.assemble import Assembly
from gateway_support import Template, service_of

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"


def _srv(xml: bytes) -> str:
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    return (root.findtext(f"{SR}Header/{SR}ServiceReferenceVariant") or "").strip()


def post_all(
    client: TestClient, assembly: Assembly, templates: list[Template]
) -> dict[str, tuple[int, str, bytes]]:
    table: dict[str, tuple[int, str, bytes]] = {}
    for t in templates:
        r = client.post(
            f"/api/v1/service{service_of(t.body)}",
            content=t.body,
            headers={"content-type": "application/xml"},
        )
        assert r.status_code < 500, (t.name, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/xml")
        v = verify(r.content, assembly.dsp_trust)  # every answer is signed by the DSP
        code = v.root.findtext(f"{SR}Header/{SR}ResponseCode")
        assert code is not None, t.name
        assert r.headers["x-duis-response-code"] == code
        table[t.name] = (r.status_code, code, r.content)
    return table


def test_every_template_gets_a_signed_answer_with_a_clear_code(
    client: TestClient, assembly: Assembly, templates: list[Template], tmp_path: Path
) -> None:
    table = post_all(client, assembly, templates)
    assert len(table) == 297
    codes = {name: code for name, (_s, code, _b) in table.items()}
    by_code = Counter(codes.values())
    (tmp_path / "codes.json").write_text(json.dumps(codes, indent=1, sort_keys=True))
    print("\nresponse codes over the 297 templates:", dict(sorted(by_code.items())))

    # The supported SRVs are processed.
    assert codes["12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML"] == "I0"
    assert codes["8.2_READ_INVENTORY_REQUEST_DUIS.XML"] == "E080201"  # no such device
    # Unsupported SRVs from a registered, eligible user: E21 "not supported".
    assert codes["5.2_READ_SCHEDULE_REQUEST_DUIS.XML"] == "E21"
    assert codes["12.1_REQUEST_WAN_MATRIX_ADDRESS_REQUEST_DUIS.XML"] == "E21"
    # Templates the reference tool could not sign keep their placeholder signature, whose
    # certificate (serial) no one trusts: E2 (or E1).
    for t in templates:
        if t.signed is None:
            assert codes[t.name] in ("E1", "E2"), t.name
    # Every template's RequestID counter is fresh and increasing: no replay refusals.
    assert by_code["E12"] == 0
    # Only codes of our one table, and the refusals are the pipeline's, not crashes.
    from althan.dsp import catalogue as C

    known = {c.code for c in C.RESPONSE_CODES}
    assert set(by_code) <= known, set(by_code) - known
    assert set(by_code) <= {
        "I0",
        "I99",
        "W110401",
        "E1",
        "E2",
        "E3",
        "E4",
        "E5",
        "E11",
        "E13",
        "E17",
        "E19",
        "E20",
        "E21",
        "E080201",
        "E080405",
        "E110401",
        "E120201",
    }
    assert by_code["E21"] > 150  # most of DUIS is outside althan's scope
    # Each template went to the service its CommandVariant picks: none refused as E100.
    assert by_code["E100"] == 0


def test_originators_without_dcc_user_registration_get_e2(
    client: TestClient, assembly: Assembly, templates: list[Template]
) -> None:
    """Templates signed by a ZAZ1 identity that is not a registered user (e.g. the ACB,
    90-B3-D5-1F-30-03-00-00) are refused E2."""
    picked = [
        t
        for t in templates
        if t.signed is not None and b"<sr:RequestID>90-B3-D5-1F-30-03-00-00" in t.signed
    ]
    assert picked, "the reference set has a template originated by the ACB"
    table = post_all(client, assembly, picked)
    assert {c for _s, c, _b in table.values()} == {"E2"}


NODE_PARSE = """
const fs = require('fs');
const p = require(process.argv[1] + '/@smartdcc/duis-parser');
const out = process.argv.slice(2).map((f) => {
  try {
    const d = p.parseDuis('simplified', fs.readFileSync(f));
    return {ok: true, type: d.header.type, code: d.header.responseCode,
            requestId: d.header.requestId ? String(d.header.requestId.originator) : null};
  } catch (e) { return {ok: false, error: String(e)}; }
});
console.log(JSON.stringify(out));
"""


def test_sample_of_answers_validates_with_the_reference_tool_and_parses_with_duis_parser(
    client: TestClient,
    assembly: Assembly,
    templates: list[Template],
    tmp_path: Path,
    boxed: object,
    node_modules: Path,
) -> None:
    import shutil
    import subprocess

    table = post_all(client, assembly, templates)
    sample: dict[str, bytes] = {}
    for _name, (_s, code, body) in sorted(table.items()):
        sample.setdefault(code, body)
    assert {"I0", "E080201", "E21", "E3", "E5", "E2"} <= set(sample), set(sample)
    files = []
    for code, body in sorted(sample.items()):
        f = tmp_path / f"answer-{code}.xml"
        f.write_bytes(body)
        files.append(f)
    tampered = tmp_path / "tampered.xml"  # control: the tool does refuse a changed answer
    tampered.write_bytes(sample["E21"].replace(b">E21<", b">E20<"))
    *results, control = boxed("validate", [*files, tampered])  # type: ignore[operator]
    assert control[0] != 0
    for f, (rc, out) in zip(files, results, strict=True):
        assert rc == 0, (f.name, out.decode(errors="replace")[-500:])
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, "-e", NODE_PARSE, str(node_modules), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    parsed = json.loads(proc.stdout)
    for f, p in zip(files, parsed, strict=True):
        assert p["ok"], (f.name, p)
        assert p["type"] == "response"
        assert f.name == f"answer-{p['code']}.xml"
