"""Fixtures for the anomaly-detection tests: a DSP whose store is in its data directory (the CLI
acts on the same store), its DUIS HTTP gateway on a still clock, the ZAZ1 test supplier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from anomaly_support import FakeClock
from fastapi.testclient import TestClient

from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.runtime.service import create_app
from althan.supplier.client import DuisClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def assembly(data_dir: Path, clock: FakeClock) -> Iterator[Assembly]:
    a = build_dsp(data_dir)
    register_test_users(a, clock())
    yield a
    a.dsp.engine.dispose()


@pytest.fixture
def client(assembly: Assembly, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(assembly, clock=clock)) as c:
        yield c


@pytest.fixture
def supplier(assembly: Assembly) -> DuisClient:
    cert, key = assembly.zaz1[TEST_SUPPLIER_EUI]
    return DuisClient(TEST_SUPPLIER_EUI, key, cert)
