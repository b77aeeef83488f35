"""`althan cpl add | list | withdraw` through the real command, and its effect on SRV 11.4."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from althan.cli import app
from althan.model import ALTHANCO_DEFAULT_EUI
from althan.runtime.assemble import build_dsp
from althan.zigbee.testimage import build_test_image
from fleet_world import NEW_VERSION, World

runner = CliRunner()
SUPPLIER = "90-B3-D5-1F-30-01-00-00"


def cli(*args: str) -> Any:
    """`althan cpl ARGS`; add and withdraw act as the test AltHANCo unless `--as` is given."""
    acting = ["--as", str(ALTHANCO_DEFAULT_EUI)] if args[0] != "list" and "--as" not in args else []
    return runner.invoke(app, ["cpl", *args, *acting], catch_exceptions=False)


def listed(data: Path) -> list[dict[str, Any]]:
    r = cli("list", "--json", "--data-dir", str(data))
    assert r.exit_code == 0, r.output
    out: list[dict[str, Any]] = json.loads(r.stdout)
    return out


def image_file(tmp_path: Path, **kw: Any) -> tuple[Path, bytes]:
    data = build_test_image(0x121D, 0x0084, NEW_VERSION, min_hw=1, max_hw=3, **kw)
    p = tmp_path / "fw.ota"
    p.write_bytes(data)
    return p, data


def test_round_trip_add_list_withdraw(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    f, data = image_file(tmp_path)
    r = cli(
        "add",
        str(f),
        "--manufacturer",
        "121D",
        "--model",
        "0084",
        "--hw-min",
        "1",
        "--hw-max",
        "3",
        "--data-dir",
        str(data_dir),
        "--json",
    )
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)
    assert added["status"] == "Active"
    assert added["image_sha256"] == hashlib.sha256(data).hexdigest()
    assert added["firmware_version"] == "00020000"
    assert (added["manufacturer"], added["model"], added["hw_min"], added["hw_max"]) == (
        "121D",
        "0084",
        1,
        3,
    )
    assert added["assured_by"] == str(ALTHANCO_DEFAULT_EUI)

    [row] = listed(data_dir)
    assert row == added
    # the image is in the DSP's image store, once
    a = build_dsp(data_dir)
    assert a.dsp.images.count() == 1
    assert a.dsp.images.get(added["image_sha256"]) == data

    table = cli("list", "--data-dir", str(data_dir))
    assert table.exit_code == 0
    for text in (
        "121D",
        "0084",
        "1..3",
        "00020000",
        "Active",
        added["image_sha256"][:12],
        str(ALTHANCO_DEFAULT_EUI),
    ):
        assert text in table.stdout

    w = cli("withdraw", str(added["id"]), "--reason", "recalled", "--data-dir", str(data_dir))
    assert w.exit_code == 0, w.output
    [row] = listed(data_dir)
    assert row["status"] == "Withdrawn"
    assert {k: v for k, v in row.items() if k != "status"} == {
        k: v for k, v in added.items() if k != "status"
    }
    assert "Withdrawn" in cli("list", "--data-dir", str(data_dir)).stdout
    # a withdrawn entry stays withdrawn: withdrawing again is refused and changes nothing
    again = cli("withdraw", str(added["id"]), "--data-dir", str(data_dir))
    assert again.exit_code == 1 and "only an Active entry" in again.output
    [row] = listed(data_dir)
    assert row["status"] == "Withdrawn"


def test_hardware_range_defaults_to_the_header(tmp_path: Path) -> None:
    f, _ = image_file(tmp_path)
    r = cli("add", str(f), "--data-dir", str(tmp_path / "d"), "--json")
    assert r.exit_code == 0, r.output
    e = json.loads(r.stdout)
    assert (e["manufacturer"], e["model"], e["hw_min"], e["hw_max"]) == ("121D", "0084", 1, 3)


def test_only_althanco_may_add(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    f, _ = image_file(tmp_path)
    r = cli(
        "add",
        str(f),
        "--manufacturer",
        "121D",
        "--model",
        "0084",
        "--hw-min",
        "1",
        "--hw-max",
        "3",
        "--as",
        SUPPLIER,
        "--data-dir",
        str(data_dir),
    )
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.startswith("error: ") and "AltHANCo" in r.stderr
    assert r.stderr.count("\n") == 1
    assert listed(data_dir) == []
    assert build_dsp(data_dir).dsp.images.count() == 0


def test_only_althanco_may_withdraw(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    f, _ = image_file(tmp_path)
    assert cli("add", str(f), "--data-dir", str(data_dir)).exit_code == 0
    [e] = listed(data_dir)
    r = cli("withdraw", str(e["id"]), "--as", SUPPLIER, "--data-dir", str(data_dir))
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ")
    assert listed(data_dir)[0]["status"] == "Active"
    r = cli("withdraw", "999", "--data-dir", str(data_dir))
    assert r.exit_code == 1
    assert r.stderr == "error: no CPL entry 999\n"


def test_malformed_file_exit_2_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    f, data = image_file(tmp_path)
    for bad in (b"", b"not an OTA file at all", data[:40], data[: len(data) - 10]):
        f.write_bytes(bad)
        r = cli("add", str(f), "--data-dir", str(data_dir))
        assert r.exit_code == 2, (bad[:20], r.output)
        assert r.stderr.startswith("error: ")
        assert r.stderr.count("\n") == 1
    r = cli("add", str(tmp_path / "missing.ota"), "--data-dir", str(data_dir))
    assert r.exit_code == 2 and r.stderr.startswith("error: cannot read")
    assert not data_dir.exists()  # bad input creates nothing, not even the store


def test_header_disagreement_and_duplicates(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    f, _ = image_file(tmp_path)
    r = cli("add", str(f), "--manufacturer", "1234", "--data-dir", str(data_dir))
    assert r.exit_code == 2 and "121D" in r.stderr
    r = cli("add", str(f), "--model", "0085", "--data-dir", str(data_dir))
    assert r.exit_code == 2 and "0084" in r.stderr
    r = cli("add", str(f), "--hw-min", "3", "--hw-max", "1", "--data-dir", str(data_dir))
    assert r.exit_code == 2 and "empty" in r.stderr
    assert not data_dir.exists()  # bad input creates nothing, not even the store
    assert cli("add", str(f), "--data-dir", str(data_dir)).exit_code == 0
    r = cli("add", str(f), "--data-dir", str(data_dir))
    assert r.exit_code == 1 and "already assured" in r.stderr
    assert len(listed(data_dir)) == 1


def test_cli_assured_image_is_delivered_until_withdrawn(tmp_path: Path) -> None:
    """The CLI and the DSP share the data directory: add lets 11.4 through, withdraw stops it."""
    world = World(tmp_path / "data")
    (_k, bs), *_ = sorted(world.models().items())
    assert len(bs) >= 2, "setup: want two bridges of one model"
    image = world.image_for(bs)
    f = tmp_path / "fw.ota"
    f.write_bytes(image)
    d = str(world.data_dir)

    r = cli("add", str(f), "--data-dir", d, "--json")
    assert r.exit_code == 0, r.output
    entry = json.loads(r.stdout)

    assert world.update(image, [bs[0].eui]).code == "I0"
    assert world.n39_devices() == [str(bs[0].eui)]
    assert world.smi_versions()[bs[0].eui] == f"{NEW_VERSION:08X}"

    assert cli("withdraw", str(entry["id"]), "--data-dir", d).exit_code == 0
    rest = [b.eui for b in bs[1:]]
    reply = world.update(image, rest)
    assert reply.code == "W110401"
    assert reply.lists == {"NotApplicableFirmwareDeviceIDList": [str(x) for x in rest]}
    assert world.n39_devices() == [str(bs[0].eui)]
    assert [dev for dev, _ in world.deliveries()] == [bs[0].eui]
