"""A 2,000-input run of fuzz/fuzz_gbcs.py: only GbcsError may escape decode."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

FUZZ = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_gbcs.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_gbcs", FUZZ)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fuzz_smoke(reference_dir: Path) -> None:
    fuzz = _load()
    corpus = fuzz.seed_corpus(reference_dir)
    assert len(corpus) > 70
    stats = fuzz.run(2000, 1, corpus)
    assert stats["inputs"] == 2000
    assert stats["decoded"] > 0 and stats["rejected"] > 0


def test_fuzz_cli(capsys: object) -> None:
    fuzz = _load()
    assert fuzz.main(["--count", "300", "--seed", "3"]) == 0
