"""Fixtures for the DUIS tests: reference folders, ZAZ1 keys, trust stores, schemas, and a
batch runner for the DCC Boxed reference tool (one JVM for many files)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from althan.duis.schema import DuisSchema
from althan.duis.xmldsig import TrustStore
from althan.smki.zaz1 import Zaz1Keys, load_zaz1

BATCH_JAVA = Path(__file__).with_name("BoxedBatch.java")

BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]


@pytest.fixture(scope="session")
def templates_dir(reference_dir: Path) -> Path:
    return reference_dir / "duis" / "templates"


@pytest.fixture(scope="session")
def samples_dir(reference_dir: Path) -> Path:
    return reference_dir / "duis" / "samples"


@pytest.fixture(scope="session")
def zaz1(tool_jar: Path) -> Zaz1Keys:
    """The ZAZ1 credentials inside the reference tool's jar."""
    return load_zaz1(tool_jar)


@pytest.fixture(scope="session")
def zaz1_ref(reference_dir: Path) -> Zaz1Keys:
    """The ZAZ1 credentials of the reference folder (more than the jar has)."""
    return load_zaz1(reference_dir / "smki" / "zaz1")


@pytest.fixture(scope="session")
def trust(zaz1: Zaz1Keys) -> TrustStore:
    return TrustStore(zaz1.certificates())


@pytest.fixture(scope="session")
def trust_ref(zaz1_ref: Zaz1Keys) -> TrustStore:
    return TrustStore(zaz1_ref.certificates())


@pytest.fixture(scope="session")
def schema51(tool_jar: Path) -> DuisSchema:
    return DuisSchema.load(tool_jar)


@pytest.fixture(scope="session")
def schema54(reference_dir: Path) -> DuisSchema:
    return DuisSchema.load(reference_dir / "duis" / "schema" / "5.4")


@pytest.fixture(scope="session")
def boxed(tool_jar: Path, tmp_path_factory: pytest.TempPathFactory) -> BoxedRunner:
    """run(mode, files) -> [(exit code, stdout bytes)] with mode "sign" or "validate"."""
    java = shutil.which("java")
    assert java is not None

    def run(mode: str, files: Sequence[Path]) -> list[tuple[int, bytes]]:
        out = tmp_path_factory.mktemp(f"boxed-{mode}")
        proc = subprocess.run(
            [java, "-cp", str(tool_jar), str(BATCH_JAVA), mode, str(out), *map(str, files)],
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
