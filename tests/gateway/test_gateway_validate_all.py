"""Every answer of the 297-template sweep validates with the reference tool (one JVM batch),
and the critical SRVs (6.15.2, 8.1.1) are processed, not refused as unsupported."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_gateway_templates import post_all

from althan.runtime.assemble import Assembly
from gateway_support import Template


@pytest.mark.java
def test_every_sweep_answer_validates_with_the_reference_tool(
    client: TestClient,
    assembly: Assembly,
    templates: list[Template],
    tmp_path: Path,
    boxed: object,
) -> None:
    table = post_all(client, assembly, templates)
    assert len(table) == 297
    codes = {name: code for name, (_s, code, _b) in table.items()}
    # critical SRVs go through the transform path: the templates' target 00-DB-12-34-56-78-90-A0
    # is not in the inventory, so E5, never "not supported"
    for name in (
        "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML",
        "ECS70Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML",
        "GCS28Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML",
    ):
        assert codes[name] not in ("E21",), (name, codes[name])
    files: list[Path] = []
    skipped = 0
    for i, (name, (_s, _code, body)) in enumerate(sorted(table.items())):
        if b"AltHANDeviceVariant" in body:  # MP170 element: unknown to the stock 5.1 schema
            skipped += 1
            continue
        f = tmp_path / f"{i:03d}-{name}.answer.xml"
        f.write_bytes(body)
        files.append(f)
    assert len(files) >= 290, (len(files), skipped)
    results = boxed("validate", files)  # type: ignore[operator]
    bad = [
        (f.name, out.decode(errors="replace")[-300:])
        for f, (rc, out) in zip(files, results, strict=True)
        if rc != 0
    ]
    assert not bad, bad[:5]
