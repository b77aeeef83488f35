"""Fixtures for the DUIS tests: reference folders, ZAZ1 keys, trust stores, schemas, and a
batch runner for the DCC Boxed reference tool (one JVM for many files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from althan.duis.schema import DuisSchema
from althan.duis.xmldsig import TrustStore
from althan.smki.zaz1 import Zaz1Keys, load_zaz1


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
