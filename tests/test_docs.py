"""The docs stay true to the catalogue, and the catalogue to the tests.

Every code the DSP can emit (src/althan/dsp/catalogue.py: RESPONSE_CODES and DCC_ALERTS) is
documented in docs/duis.md: checked here. That each of them is also PRODUCED by some test is
checked by the code ledger (tests/code_ledger.py): it records every response code the DSP
answers and every DCC alert it emits during the run, and a full run (`make test`) fails,
naming the code, when a catalogue code was never produced. tests/rules provokes each one
through signed DUIS or the SM WAN.
"""

from __future__ import annotations

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
