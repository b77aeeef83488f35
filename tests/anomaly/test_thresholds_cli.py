"""`althan ad set / list / remove`: thresholds as an operator sets them; bad input is refused
with one clear line and nothing stored; the defaults let a 50,000-device 11.4 through."""

from __future__ import annotations

from pathlib import Path

import pytest
from anomaly_support import T0, cli, cli_error, cli_json

from althan.dsp import anomaly
from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly

SUPPLIER = str(TEST_SUPPLIER_EUI)
DEFAULTS = [
    {
        "scope": "dcc",
        "user": None,
        "srv": "11.4",
        "max_requests": 5_000,
        "max_devices": 1_500_000,
        "window": "1d",
        "window_seconds": 86_400,
    }
]


def _listed(data: Path) -> list[dict[str, object]]:
    return [
        {k: v for k, v in t.items() if k not in ("id", "updated_at")}
        for t in cli_json(data, "ad", "list")
    ]


def test_set_replace_list_remove(assembly: Assembly, data_dir: Path) -> None:
    assert _listed(data_dir) == DEFAULTS
    cli(
        data_dir,
        "ad",
        "set",
        "--user",
        SUPPLIER,
        "--srv",
        "11.4",
        "--max-devices",
        "100",
        "--window",
        "24h",
    )
    cli(
        data_dir,
        "ad",
        "set",
        "--user",
        SUPPLIER,
        "--srv",
        "11.2",
        "--max-requests",
        "500",
        "--window",
        "30m",
    )
    # set again: replaced, not added
    t = cli_json(
        data_dir,
        "ad",
        "set",
        "--user",
        SUPPLIER,
        "--srv",
        "11.4",
        "--max-requests",
        "7",
        "--max-devices",
        "120",
        "--window",
        "7d",
    )
    assert (t["max_requests"], t["max_devices"], t["window"]) == (7, 120, "7d")
    listed = _listed(data_dir)
    assert listed[0] == DEFAULTS[0]
    assert [
        (x["user"], x["srv"], x["max_requests"], x["max_devices"], x["window"]) for x in listed[1:]
    ] == [
        (SUPPLIER, "11.2", 500, None, "30m"),
        (SUPPLIER, "11.4", 7, 120, "7d"),
    ]
    cli(data_dir, "ad", "remove", "--user", SUPPLIER, "--srv", "11.2")
    assert len(_listed(data_dir)) == 2
    assert "no threshold for" in cli_error(
        data_dir, "ad", "remove", "--user", SUPPLIER, "--srv", "11.2", code=2
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-devices", "0"], "max-devices 0: a threshold must be a whole number above zero"),
        (["--max-requests", "-5"], "max-requests -5: a threshold must be a whole number above"),
        (["--srv", "99.9", "--max-devices", "5"], "unknown SRV '99.9'"),
        (["--srv", "11.44", "--max-devices", "5"], "unknown SRV '11.44'"),
        ([], "give --max-requests, --max-devices or both"),
        (["--max-devices", "5", "--window", "0h"], "window '0h' must be longer than zero"),
        (["--max-devices", "5", "--window", "24"], "window '24': give minutes, hours or days"),
        (["--max-devices", "5", "--window", "400d"], "longer than 366 days"),
        (["--max-devices", "5", "--all-users"], "exactly one of --user EUI and --all-users"),
        (["--max-devices", "5", "--user", "00-DB-12"], "--user '00-DB-12'"),
        (
            ["--max-devices", "5", "--user", "00-DB-12-34-56-78-90-99"],
            "user 00-DB-12-34-56-78-90-99 is not a registered DCC user",
        ),
    ],
)
def test_bad_thresholds_are_refused_and_nothing_stored(
    assembly: Assembly, data_dir: Path, args: list[str], message: str
) -> None:
    base = {"--user": SUPPLIER, "--srv": "11.4", "--window": "24h"}
    given = dict(zip(args[::2], args[1::2], strict=False))
    flags = [a for a in args if a == "--all-users"]
    merged = {**base, **{k: v for k, v in given.items() if k != "--all-users"}}
    argv = [x for kv in merged.items() for x in kv] + flags
    err = cli_error(data_dir, "ad", "set", *argv, code=2)
    assert err.startswith("error: ") and message in err, err
    assert _listed(data_dir) == DEFAULTS


def test_defaults_let_a_full_11_4_through(assembly: Assembly) -> None:
    """The DUIS maximum (50,000 devices) from one supplier passes the default thresholds; what
    would take the day over 1,500,000 devices is held."""
    with assembly.dsp.engine.connect() as conn:
        assert anomaly.check(conn, TEST_SUPPLIER_EUI, "11.4", 50_000, T0) is None
        breach = anomaly.check(conn, TEST_SUPPLIER_EUI, "11.4", 1_500_001, T0)
    assert breach is not None and breach.threshold.breach == "ADDCCThresholdBreach"
