"""`althan simulate`: same seed, same result but for the wall time; another seed, another run.
A file of its own, so that `pytest -n 2` runs it beside the 200-home runs of
test_simulate_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_simulate_cli import _run


@pytest.mark.slow
def test_same_seed_same_result_except_wall_time(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "--homes", "20", "--seed", "3", "--strategy", "naive")
    b = _run(tmp_path / "b", "--homes", "20", "--seed", "3", "--strategy", "naive")
    assert a["wall_seconds"] > 0
    a.pop("wall_seconds")
    b.pop("wall_seconds")
    assert a == b
    c = _run(tmp_path / "c", "--homes", "20", "--seed", "4", "--strategy", "naive")
    assert (c["devices"], c["csp_bytes"]) != (a["devices"], a["csp_bytes"])
