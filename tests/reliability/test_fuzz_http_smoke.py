"""A 2,000-input run of fuzz/fuzz_http.py (seed 1, so the same inputs every run): no HTTP 5xx,
no store row changed by a refused request, and the inputs get past the signature and the
schema to every SRV handler the DSP routes. The long runs (`make fuzz`) are standalone."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_http.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_http", FUZZ)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_http"] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow(4)
def test_fuzz_http_2000_inputs_no_5xx_and_no_change_on_refusal(
    reference_dir: Path, tmp_path: Path
) -> None:
    fuzz = _load()
    report = fuzz.run(2000, 1, reference_dir, tmp_path / "data", out=tmp_path / "defects")
    summary = report.summary()
    print(f"\nfuzz_http, 2,000 inputs: {summary}")
    assert report.defects == []
    assert report.inputs >= 1_990  # a few mutations cannot be canonicalised to sign
    assert all(status < 500 for status in report.statuses)
    assert report.reached / report.inputs > 0.15, "past the schema to the handlers"
    routed = {"11.2", "11.4", "12.2", "6.15.1", "6.15.2", "8.1.1", "8.11", "8.2", "8.4"}
    assert routed <= set(report.handled), sorted(routed - set(report.handled))
    refused_in_handlers = {c for c in report.codes if c.startswith("E") and len(c) == 7}
    assert refused_in_handlers, (
        "SRV-specific refusals (E120201, E080724, ...): the handlers' own rules were exercised"
    )
