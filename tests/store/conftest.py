"""The store's tests run on both engines: `url` is a fresh SQLite file or PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from althan.store import sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))
