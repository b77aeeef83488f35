"""A campaign's plan, in process: waves as cumulative percentages of the device list, 11.4s
of at most 50,000 devices, the sending window (overnight too), the devices file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from althan.model import EUI64
from althan.supplier.campaign_plan import (
    MAX_DEVICES_PER_REQUEST,
    PlanError,
    Window,
    chunks,
    parse_devices,
    parse_waves,
    wave_slices,
)


def test_waves_are_cumulative_percentages_of_the_list_in_its_order() -> None:
    assert wave_slices(1000, parse_waves("1,10,50,100")) == [
        (0, 10), (10, 100), (100, 500), (500, 1000),
    ]  # fmt: skip
    assert wave_slices(209, parse_waves("10,25,50,100")) == [
        (0, 21), (21, 53), (53, 105), (105, 209),
    ]  # fmt: skip
    # a small list: empty waves are dropped, every device is in exactly one wave
    assert wave_slices(3, parse_waves("1,2,50,100")) == [(0, 1), (1, 2), (2, 3)]
    assert parse_waves("2.5,100") == (2.5, 100.0)


def test_a_wave_over_50000_devices_goes_as_several_requests() -> None:
    devices = [EUI64(i) for i in range(MAX_DEVICES_PER_REQUEST * 2 + 1)]
    assert [len(c) for c in chunks(devices)] == [50_000, 50_000, 1]
    assert [d for c in chunks(devices) for d in c] == devices


def test_the_window_is_utc_and_may_span_midnight() -> None:
    night = Window.parse("22:00-06:00")
    at = [datetime(2026, 12, 2, h, m, tzinfo=UTC) for h, m in ((21, 59), (22, 0), (3, 0), (6, 0))]
    assert [night.open_at(t) for t in at] == [False, True, True, False]
    day = Window.parse("09:30-17:00")
    assert [day.open_at(t) for t in at] == [False, False, False, False]
    assert str(night) == "22:00-06:00"
    with pytest.raises(PlanError, match="start and end are the same"):
        Window.parse("10:00-10:00")


def test_the_devices_file_takes_comments_and_blank_lines_and_names_every_problem() -> None:
    text = (
        "# north\n00-DB-12-34-56-78-90-B0\n\n00db1234567890b1  # second\nnope\n00DB1234567890B0\n"
    )
    with pytest.raises(PlanError) as exc:
        parse_devices(text)
    assert "line 5: 'nope' is not an EUI-64" in str(exc.value)
    assert "line 6: 00-DB-12-34-56-78-90-B0 repeats line 2" in str(exc.value)
    assert parse_devices(text.replace("nope\n", "").replace("00DB1234567890B0\n", "")) == [
        EUI64.parse("00-DB-12-34-56-78-90-B0"),
        EUI64.parse("00-DB-12-34-56-78-90-B1"),
    ]
