"""Fixtures for the DUIS HTTP gateway tests: the 297 reference templates signed once per session
by the DCC Boxed reference tool. (The DSP, its TestClient and the test supplier are in
tests/conftest.py, shared with tests/rules.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import pytest
from fastapi.testclient import TestClient

from althan.runtime.assemble import build_dsp, register_test_users
from althan.runtime.service import create_app
from gateway_support import Answer, FakeClock, Template, post_all

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


@pytest.fixture(scope="session")
def sweep(
    templates: list[Template], tmp_path_factory: pytest.TempPathFactory
) -> Mapping[str, Answer]:
    """The answers to all 297 signed templates, posted once per session (under xdist: once per
    worker that runs a test reading it), in file-name order, through the HTTP gateway of a DSP
    of its own (SQLite in a session temp dir, the test users registered, the clock still). The
    order matters: 12.2 pre-notifies the device 8.4 then withdraws and later templates address.
    Read-only: every test that reads the sweep sees the same answers."""
    d = tmp_path_factory.mktemp("sweep")
    clock = FakeClock()
    a = build_dsp(d / "data", db_url=f"sqlite:///{d / 'dsp.db'}")
    register_test_users(a, clock())
    with TestClient(create_app(a, clock=clock)) as c:
        answers = post_all(c, a.dsp_trust, templates)
    assert list(answers) == sorted(t.name for t in templates)
    return MappingProxyType(answers)
