"""Helpers for the GBCS tests: which RTDS folders, and vector names at collection time."""

from __future__ import annotations

import os
from pathlib import Path

FOLDERS = (
    "11.2_CS08",
    "NA_CS09",
    "NA_CCS08",
    "8.11_CCS01",
    "8.11_CCS02",
    "8.7.2_*",
    "8.8.2_*",
    "6.15.1_*",
    "6.15.2_CS02d",
)

_DEFAULT_REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
REFERENCE = Path(os.environ.get("ALTHAN_REFERENCE_DIR", _DEFAULT_REF))


def vector_names() -> list[str]:
    """Vector names for parametrisation (a placeholder when the reference is absent)."""
    root = REFERENCE / "gbcs" / "RTDS-4.5.0"
    names = [
        f"{f.parent.name}/{f.name}"
        for pattern in FOLDERS
        for f in sorted(root.glob(f"{pattern}/*.HEX"))
    ]
    return names or ["<reference absent>"]
