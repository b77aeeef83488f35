"""Every answer of the 297-template sweep parses with @smartdcc/duis-parser (one node process,
one JSON line per file) and the response code it reads is the one the gateway sent."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from test_gateway_templates import post_all

from althan.runtime.assemble import Assembly
from gateway_support import Template

RUNNER = Path(__file__).with_name("duis_parse_many.js")


def parse_many(node_modules: Path, files: list[Path]) -> list[dict[str, object]]:
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(RUNNER), str(node_modules), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == list(map(str, files))
    return lines


def test_every_sweep_answer_parses_with_duis_parser_and_codes_agree(
    client: TestClient,
    assembly: Assembly,
    templates: list[Template],
    tmp_path: Path,
    node_modules: Path,
) -> None:
    table = post_all(client, assembly, templates)
    assert len(table) == 297
    files: list[Path] = []
    ours: list[str] = []
    for i, (name, (_s, code, body)) in enumerate(sorted(table.items())):
        f = tmp_path / f"{i:03d}-{name}.answer.xml"
        f.write_bytes(body)
        files.append(f)
        ours.append(code)
    # control: the runner does report a file it cannot parse, and the line stays in order
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<not-duis/>")
    *parsed, control = parse_many(node_modules, [*files, broken])
    assert not control["ok"] and control["error"]
    bad = [(f.name, p["error"]) for f, p in zip(files, parsed, strict=True) if not p["ok"]]
    assert not bad, bad[:5]
    assert {p["type"] for p in parsed} == {"response"}
    mismatched = [
        (f.name, code, p["code"])
        for f, code, p in zip(files, ours, parsed, strict=True)
        if p["code"] != code
    ]
    assert not mismatched, mismatched[:5]
    # the 6.15.1 critical templates go through the transform path like 6.15.2, not "not
    # supported": their device is known to the sweep (pre-notified) but not commissioned, E20
    codes = {name: code for name, (_s, code, _b) in table.items()}
    krp = [n for n in codes if n.startswith("CS02bSupplierBySupplier_6.15.1_")]
    assert len(krp) == 3
    assert {codes[n] for n in krp} == {codes["CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"]} == {"E20"}
    assert codes["CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"] != "E21"
