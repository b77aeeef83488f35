"""Fixtures for the DUIS HTTP gateway tests: the 297 reference templates signed once per session
by the DCC Boxed reference tool. (The DSP, its TestClient and the test supplier are in
tests/conftest.py, shared with tests/rules.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gateway_support import Template

BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]


@pytest.fixture(scope="session")
def templates(reference_dir: Path, boxed: BoxedRunner) -> list[Template]:
    """The 297 DUIS templates, signed by the reference tool with fresh, increasing counters."""
    files = sorted((reference_dir / "duis" / "templates").glob("*.XML"))
    assert len(files) == 297
    signed = boxed("sign-fresh", files)
    return [
        Template(f.name, f.read_bytes(), out if rc == 0 and b"SignatureValue" in out else None)
        for f, (rc, out) in zip(files, signed, strict=True)
    ]
