"""Every answer of the 297-template sweep parses with @smartdcc/duis-parser (one node process,
one JSON line per file) and the response code it reads is the one the gateway sent."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from gateway_support import Answer

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
    sweep: Mapping[str, Answer], tmp_path: Path, node_modules: Path
) -> None:
    assert len(sweep) == 297
    files: list[Path] = []
    ours: list[str] = []
    for i, (name, answer) in enumerate(sorted(sweep.items())):
        f = tmp_path / f"{i:03d}-{name}.answer.xml"
        f.write_bytes(answer.body)
        files.append(f)
        ours.append(answer.code)
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
