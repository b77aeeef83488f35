"""`althan demo`: same seed, same JSON; another seed, another run (20 homes). A file of its own,
so that `pytest -n 2` runs it beside the 300-home run of test_demo_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_demo_cli import _run


@pytest.mark.slow
def test_same_seed_same_json_other_seed_differs(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", "--homes", "20", "--seed", "1")
    a2 = _run(tmp_path / "a2", "--homes", "20", "--seed", "1")
    b = _run(tmp_path / "b", "--homes", "20", "--seed", "2")
    assert a["failed"] == b["failed"] == 0
    a.pop("wall_seconds")
    a2.pop("wall_seconds")
    assert a == a2
    assert (a["devices"], a["virtual_seconds"]) != (b["devices"], b["virtual_seconds"])
