"""The DCC clock other processes read while serve runs (`dcc-clock.json`): believed while
fresh, ignored when stale, missing or malformed (then the CLI acts at the real time)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from althan.cli.options import dsp_now
from althan.runtime.live import CLOCK_FILE, dcc_now, publish_clock

AHEAD = datetime(2031, 1, 1, tzinfo=UTC)


def test_a_fresh_clock_file_gives_the_dcc_time(tmp_path: Path) -> None:
    publish_clock(tmp_path, AHEAD, 60.0)
    now = dcc_now(tmp_path)
    assert now is not None and AHEAD <= now < AHEAD + timedelta(minutes=30)
    assert dsp_now(tmp_path) >= AHEAD
    assert [p.name for p in tmp_path.iterdir()] == [CLOCK_FILE]  # no temporary file left


def test_stale_missing_or_malformed_clock_files_are_not_believed(tmp_path: Path) -> None:
    assert dcc_now(tmp_path) is None
    path = tmp_path / CLOCK_FILE
    for text in (
        json.dumps({"dcc": AHEAD.isoformat(), "wall": 0.0, "speed": 60}),  # 1970: stopped
        json.dumps({"dcc": "2031-01-01T00:00:00", "wall": 1e12, "speed": 60}),  # no zone
        json.dumps({"dcc": AHEAD.isoformat(), "speed": 60}),
        "not json",
        "[]",
    ):
        path.write_text(text)
        assert dcc_now(tmp_path) is None, text
        assert dsp_now(tmp_path) < AHEAD
