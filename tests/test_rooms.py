"""The rooms of DESIGN §4, and the shape of the imports inside them.

- every room imports only the rooms its row of the DESIGN §4 table allows;
- `dsp` and the network (`csp`, `han`) meet only in `smwan`; `supplier` is a client (never
  `dsp`, `store` or `runtime`);
- no import circle between the modules of `src/althan` (at module level);
- no import inside a function, except the CLI's deliberate lazy imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "althan"
CODECS = {"duis", "gbcs", "zigbee", "smki", "smwan", "store"}
BELOW_DSP = {"model", "files"} | CODECS
NETWORK = {"model", "gbcs", "zigbee", "smwan"}
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "files": set(),
    **{room: {"model", "files"} for room in CODECS},
    "dsp": BELOW_DSP,
    "csp": NETWORK | {"han"},
    "han": NETWORK,
    "runtime": BELOW_DSP | {"dsp", "csp", "han"},
    "reports": {"model", "store", "dsp"},
    "ssi": {"model", "store", "dsp", "reports"},
    "supplier": {"model", "duis", "gbcs", "smki", "zigbee"},
}
"""DESIGN §4, row by row (`cli` may import everything)."""


def _modules() -> Iterator[tuple[str, Path]]:
    for f in sorted(SRC.rglob("*.py")):
        rel = f.relative_to(SRC.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts), f


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            pkg = module.split(".") if is_package else module.split(".")[:-1]
            pkg = pkg[: len(pkg) - node.level + 1]
            base = ".".join([*pkg, base] if base else pkg)
        # `from althan.dsp import catalogue` imports the module althan.dsp.catalogue
        return [f"{base}.{a.name}" for a in node.names] + [base]
    return []


def _top_level_imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks do not run
            continue
        out.update(_imported(node, module, path.name == "__init__.py"))
    return {m for m in out if m.startswith("althan")}


def _rooms(path: Path) -> set[str]:
    rooms: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        for name in _imported(node, "", False):
            parts = name.split(".")
            if parts[0] == "althan" and len(parts) > 1:
                rooms.add(parts[1])
    return rooms


def test_every_room_imports_only_what_design_allows() -> None:
    bad = []
    for room, allowed in ALLOWED.items():
        for f in sorted((SRC / room).rglob("*.py")):
            extra = _rooms(f) - allowed - {room}
            if extra:
                bad.append(f"{f.relative_to(SRC)} imports {sorted(extra)}")
    assert not bad, "\n".join(bad)


def test_dsp_and_the_network_meet_only_in_smwan_and_the_supplier_is_a_client() -> None:
    for f in (SRC / "dsp").rglob("*.py"):
        assert not _rooms(f) & {"csp", "han"}, f
    for room in ("csp", "han"):
        for f in (SRC / room).rglob("*.py"):
            assert "dsp" not in _rooms(f), f
    for f in (SRC / "supplier").rglob("*.py"):
        assert not _rooms(f) & {"dsp", "store", "runtime"}, f


def test_no_import_circle_between_modules() -> None:
    modules = dict(_modules())
    graph = {
        m: {i for i in _top_level_imports(p, m) if i in modules and i != m}
        for m, p in modules.items()
    }
    # a package's __init__ importing its own submodules is how a package exposes its API
    for m in graph:
        graph[m] = {
            i for i in graph[m] if not (i.startswith(m + ".") and modules[m].name == "__init__.py")
        }
    visiting: list[str] = []
    done: set[str] = set()
    circles: list[str] = []

    def visit(m: str) -> None:
        if m in done:
            return
        if m in visiting:
            circles.append(" -> ".join([*visiting[visiting.index(m) :], m]))
            return
        visiting.append(m)
        for n in sorted(graph[m]):
            visit(n)
        visiting.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)
    assert not circles, "\n".join(circles)


def test_no_import_inside_a_function_outside_the_cli() -> None:
    bad = []
    for module, path in _modules():
        if module.startswith("althan.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        bad.append(f"{path.relative_to(SRC)}:{inner.lineno} {ast.unparse(inner)}")
    assert not bad, "\n".join(bad)


def test_no_source_file_over_500_lines() -> None:
    long = [
        f"{p.relative_to(SRC)}: {n}"
        for _m, p in _modules()
        if (n := len(p.read_text().splitlines())) > 500
    ]
    assert not long, "\n".join(long)
