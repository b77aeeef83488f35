"""`althan simulate --shards P`: the rollout as P tasks on Dask distributed, by CSP region
(issue 16). The JSON is the same for 1, 2 and 3 shards (wall time aside), and the merged
figures are those of the whole fleet; a bad shard count or a sharded fault sweep is refused.
A fault sweep's seeds run as Dask tasks with `--workers N` and give the same verdicts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from althan.han.topology import generate_fleet

HOMES, SEED = 60, 11


def _simulate(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "althan.cli", "simulate", "--homes", str(HOMES), "--seed",
         str(SEED), "--json", "--data-dir", str(tmp), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip


@pytest.mark.slow(2)
def test_one_two_and_three_shards_give_the_same_json(tmp_path: Path) -> None:
    runs = {}
    for shards in (1, 2, 3):
        proc = _simulate(tmp_path / f"s{shards}", "--shards", str(shards))
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        summary.pop("wall_seconds")
        runs[shards] = summary
    assert runs[1] == runs[2] == runs[3]
    fleet = generate_fleet(HOMES, SEED)
    bridges = sum(len(h.bridges) for h in fleet.homes)
    s = runs[2]
    assert (s["homes"], s["devices"], s["updated"], s["failed"]) == (HOMES, bridges, bridges, 0)
    assert s["alerts"] == {"N39": bridges, "N55": bridges, "N56": bridges}
    by_region = {
        r: sum(len(h.bridges) for h in fleet.homes if h.region.value == r)
        for r in s["devices_by_region"]
    }
    assert s["devices_by_region"] == by_region
    # each shard had its own store under the data directory
    assert sorted(p.name for p in (tmp_path / "s3").iterdir() if p.name.startswith("shard-")) == [
        "shard-0",
        "shard-1",
        "shard-2",
    ]


def test_a_bad_shard_count_and_a_sharded_sweep_are_refused(tmp_path: Path) -> None:
    proc = _simulate(tmp_path / "a", "--shards", "4")
    assert proc.returncode == 2 and "--shards" in proc.stderr, proc.stderr[-800:]
    proc = _simulate(tmp_path / "b", "--shards", "2", "--faults", "default")
    assert proc.returncode == 2 and "not sharded" in proc.stderr, proc.stderr[-800:]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _sweep(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "althan.cli", "simulate", "--homes", "4", "--faults", "harsh",
         "--seeds", "1..4", "--json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp,
    )  # fmt: skip


@pytest.mark.slow(2)
def test_a_sweeps_seeds_as_dask_tasks_give_the_verdicts_of_one_process(tmp_path: Path) -> None:
    one = _sweep(tmp_path)
    two = _sweep(tmp_path, "--workers", "2")
    assert one.returncode in (0, 1) and two.returncode == one.returncode, two.stderr[-2000:]
    a = json.loads(one.stdout.strip().splitlines()[-1])
    b = json.loads(two.stdout.strip().splitlines()[-1])
    assert [s["seed"] for s in b["seeds"]] == [1, 2, 3, 4]  # in seed order, whatever finished first
    assert a == b  # verdicts and digests: a seed replays the same wherever it ran
    assert "2 workers" in two.stdout + two.stderr


def test_workers_outside_a_sweep_are_refused(tmp_path: Path) -> None:
    proc = _simulate(tmp_path / "w", "--workers", "2")
    assert proc.returncode == 2 and "--workers" in proc.stderr, proc.stderr[-800:]
    assert not (tmp_path / "w").exists()
