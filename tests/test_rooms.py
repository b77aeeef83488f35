"""The rooms of DESIGN §4: a lower room never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "althan"
CODECS = {"model", "duis", "gbcs", "zigbee", "smki", "smwan", "store"}
LOWER = {"model", "duis", "gbcs", "zigbee", "smki", "smwan", "store"}
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    **{room: {"model"} for room in CODECS - {"model"}},
    "dsp": LOWER,
    "csp": {"model", "gbcs", "zigbee", "smwan", "han"},
    "han": {"model", "gbcs", "zigbee", "smwan", "csp"},
    "runtime": LOWER | {"dsp", "csp", "han", "supplier", "reports"},
    "reports": LOWER | {"dsp"},
    "ssi": LOWER | {"dsp", "reports"},
    "supplier": LOWER,
}


def _imports(path: Path) -> set[str]:
    rooms: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for n in names:
            parts = n.split(".")
            if parts[0] == "althan" and len(parts) > 1:
                rooms.add(parts[1])
    return rooms


def test_every_room_imports_only_what_design_allows() -> None:
    bad = []
    for room, allowed in ALLOWED.items():
        for f in sorted((SRC / room).rglob("*.py")):
            extra = _imports(f) - allowed - {room}
            if extra:
                bad.append(f"{f.relative_to(SRC)} imports {sorted(extra)}")
    assert not bad, "\n".join(bad)


def test_dsp_and_the_network_meet_only_in_smwan() -> None:
    for f in (SRC / "dsp").rglob("*.py"):
        assert not _imports(f) & {"csp", "han"}, f
    for room in ("csp", "han"):
        for f in (SRC / room).rglob("*.py"):
            assert "dsp" not in _imports(f), f
