from __future__ import annotations

from pathlib import Path

import pytest
from gbcs_vectors import FOLDERS

from althan.gbcs import Keystore


@pytest.fixture(scope="session")
def rtds_dir(reference_dir: Path) -> Path:
    return reference_dir / "gbcs" / "RTDS-4.5.0"


@pytest.fixture(scope="session")
def keystore(reference_dir: Path) -> Keystore:
    return Keystore.load(reference_dir / "gbcs" / "keystore")


@pytest.fixture(scope="session")
def vectors(rtds_dir: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for pattern in FOLDERS:
        for f in sorted(rtds_dir.glob(f"{pattern}/*.HEX")):
            out[f"{f.parent.name}/{f.name}"] = bytes.fromhex(f.read_text().strip())
    return out
