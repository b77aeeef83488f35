"""The docs stay true to the catalogue, and the catalogue to the tests.

Every code the DSP can emit (src/althan/dsp/catalogue.py: RESPONSE_CODES and DCC_ALERTS) is
documented in docs/duis.md: checked here. That each of them is also PRODUCED by some test is
checked by the code ledger (tests/code_ledger.py): it records every response code the DSP
answers and every DCC alert it emits during the run, and a full run (`make test`) fails,
naming the code, when a catalogue code was never produced. tests/rules provokes each one
through signed DUIS or the SM WAN.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from althan.dsp import catalogue as C

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_response_code_and_dcc_alert_is_documented() -> None:
    text = (DOCS / "duis.md").read_text()
    for code in C.RESPONSE_CODES:
        assert f"| `{code.code}` |" in text, f"{code.code} missing from docs/duis.md"
    for alert in C.DCC_ALERTS:
        assert f"| `{alert.code}` | `{alert.element}` |" in text, f"{alert.code} missing"


def test_readme_names_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


ARCHITECTURE = DOCS / "architecture.md"
ROOMS = frozenset(
    {"model", "duis", "gbcs", "zigbee", "smki", "smwan", "store", "dsp", "csp", "han"}
    | {"runtime", "reports", "ssi", "supplier", "cli"}
)


def _named(text: str) -> tuple[list[str], list[str]]:
    """The `src/althan/...` paths and the dotted `room.module.symbol` names in backticks."""
    spans = re.findall(r"`([^`\n]+)`", text)
    paths = [s for s in spans if s.startswith("src/althan/")]
    dotted = [s for s in spans if re.fullmatch(r"[a-z_]+(\.[A-Za-z_][A-Za-z0-9_]*)+", s)]
    return paths, [s for s in dotted if s.split(".")[0] in ROOMS]


def _resolve(name: str) -> object:
    """`dsp.service.Dsp.expire` -> the object: the longest importable module, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module("althan." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def test_architecture_names_only_what_exists() -> None:
    paths, dotted = _named(ARCHITECTURE.read_text())
    assert len(paths) > 30 and len(dotted) > 60  # the page names the code, and it is checked
    root = DOCS.parent
    missing = [p for p in paths if not (root / p.rstrip("/")).exists()]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"
    unresolved = []
    for name in dotted:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            unresolved.append(name)
    assert not unresolved, f"docs/architecture.md names what does not exist: {unresolved}"


def test_readme_links_the_architecture_page() -> None:
    assert "(docs/architecture.md)" in (DOCS.parent / "README.md").read_text()
