"""The docs stay true: every code the DSP can emit is documented in docs/duis.md."""

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
