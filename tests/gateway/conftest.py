"""Fixtures for the DUIS HTTP gateway tests: a DSP on SQLite in tmp_path, a TestClient, the 297
reference templates signed once per session by the DCC Boxed reference tool, and helpers."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from gateway_support import FakeClock, Template

from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.runtime.service import create_app
from althan.supplier.client import DuisClient

TOOL_JAVA = Path(__file__).with_name("BoxedTool.java")

BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]


@pytest.fixture(scope="session")
def boxed(tool_jar: Path, tmp_path_factory: pytest.TempPathFactory) -> BoxedRunner:
    """run(mode, files) -> [(exit code, stdout bytes)], mode "sign" (fresh counters) or
    "validate"; one JVM per call."""
    java = shutil.which("java")
    assert java is not None

    def run(mode: str, files: Sequence[Path]) -> list[tuple[int, bytes]]:
        out = tmp_path_factory.mktemp(f"boxed-{mode}")
        proc = subprocess.run(
            [java, "-cp", str(tool_jar), str(TOOL_JAVA), mode, str(out), *map(str, files)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        codes = {}
        for line in proc.stdout.splitlines():
            rc, idx = line.split()
            codes[int(idx)] = int(rc)
        assert len(codes) == len(files), proc.stdout
        return [(codes[i], (out / f"{i}.out").read_bytes()) for i in range(len(files))]

    return run


@pytest.fixture(scope="session")
def templates(reference_dir: Path, boxed: BoxedRunner) -> list[Template]:
    """The 297 DUIS templates, signed by the reference tool with fresh, increasing counters."""
    files = sorted((reference_dir / "duis" / "templates").glob("*.XML"))
    assert len(files) == 297
    signed = boxed("sign", files)
    return [
        Template(f.name, f.read_bytes(), out if rc == 0 and b"SignatureValue" in out else None)
        for f, (rc, out) in zip(files, signed, strict=True)
    ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def assembly(tmp_path: Path, clock: FakeClock) -> Assembly:
    a = build_dsp(tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'dsp.db'}")
    register_test_users(a, clock())
    return a


@pytest.fixture
def client(assembly: Assembly, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(assembly, clock=clock)) as c:
        yield c


@pytest.fixture
def supplier(assembly: Assembly) -> DuisClient:
    cert, key = assembly.zaz1[TEST_SUPPLIER_EUI]
    return DuisClient(TEST_SUPPLIER_EUI, key, cert)
