"""A short run of the OTA fuzz target (fuzz/fuzz_ota.py); the long runs are standalone."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_ota", ROOT / "fuzz" / "fuzz_ota.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_ota"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_fuzz_2000_inputs(reference_dir: Path, tmp_path: Path) -> None:
    fuzz = _load()
    stats = fuzz.run(2000, seed=12345, reference=reference_dir, crash_dir=tmp_path)
    assert stats.count == 2000
    # the mutator reaches both outcomes and the main error classes
    assert sum(stats.ok.values()) > 100
    assert {"zigbee", "gbcs"} <= set(stats.ok)
    assert {
        "OtaTruncatedImageError",
        "OtaTruncatedHeaderError",
        "OtaBadMagicError",
        "OtaSubElementOverrunError",
    } <= set(stats.errors)
    assert not list(tmp_path.iterdir())  # no crash files


def test_fuzz_cli_entry_point(tmp_path: Path, capsys: object) -> None:
    fuzz = _load()
    rc = fuzz.main(
        [
            "--count",
            "300",
            "--seed",
            "3",
            "--reference",
            str(tmp_path),
            "--crash-dir",
            str(tmp_path / "c"),
        ]
    )
    assert rc == 0
