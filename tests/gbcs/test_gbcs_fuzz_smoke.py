"""A 2,000-input run of fuzz/fuzz_gbcs.py: only GbcsError may escape decode."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

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
    assert len(corpus) == RTDS_SEEDS + 4
    stats = fuzz.run(2000, 1, corpus)
    assert stats["inputs"] == 2000
    assert stats["decoded"] > 0 and stats["rejected"] > 0


# The RTDS 4.5.0 vectors in the firmware-flow folders fuzz_gbcs.FOLDERS names (the reference
# set is fixed: its files and SHA-256 are listed in the reference MANIFEST.json).
RTDS_SEEDS = 73


def test_fuzz_cli_reads_its_seeds_from_althan_reference_dir(
    reference_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALTHAN_REFERENCE_DIR", str(reference_dir))
    fuzz = _load()
    assert fuzz.main(["--count", "300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    seeds = re.search(r"seeds: (\d+) RTDS vectors from (\S+), (\d+) built", out)
    assert seeds is not None, out
    assert (int(seeds[1]), Path(seeds[2]), int(seeds[3])) == (RTDS_SEEDS, reference_dir, 4)
    run = re.search(r"(\d+) inputs \((\d+) decoded, (\d+) rejected with GbcsError\)", out)
    assert run is not None, out
    inputs, decoded, rejected = map(int, run.groups())
    assert inputs == 300 and decoded + rejected == 300 and decoded > 0 and rejected > 0


def test_fuzz_cli_refuses_to_run_without_rtds_seeds_when_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALTHAN_REFERENCE_DIR", str(tmp_path))
    monkeypatch.setenv("ALTHAN_REQUIRE_REFERENCE", "1")
    assert _load().main(["--count", "300"]) == 2
    out = capsys.readouterr()
    assert f"seeds: 0 RTDS vectors from {tmp_path}, 4 built" in out.out
    assert "inputs" not in out.out
    monkeypatch.setenv("ALTHAN_REQUIRE_REFERENCE", "0")
    assert _load().main(["--count", "300"]) == 0
    assert "fuzz_gbcs: 300 inputs" in capsys.readouterr().out
