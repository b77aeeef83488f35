"""`althan.runtime.heap.settle`: what a serving or simulating process does to its collector once
built, that it still collects reference cycles, and that `althan simulate` settles its process
before the run (each case in a fresh interpreter, so this test process's collector is left as
it is)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json, weakref
from althan.runtime.heap import YOUNG, settle

class Node:
    pass

before = gc.get_threshold()
kept = [Node() for _ in range(1000)]   # alive when the process settles
settle()
after = gc.get_threshold()
frozen = gc.get_freeze_count()

a, b = Node(), Node()                   # a reference cycle made after settling
a.other, b.other = b, a
dead = weakref.ref(a)
del a, b
found = gc.collect()
print(json.dumps({"before": before, "after": after, "young": YOUNG, "frozen": frozen,
                  "cycle_freed": dead() is None, "found": found}))
"""


def _probe() -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def test_settle_freezes_what_lives_and_raises_only_the_young_threshold() -> None:
    r = _probe()
    before, after = r["before"], r["after"]
    assert isinstance(before, list) and isinstance(after, list)
    assert after[0] == r["young"] > before[0]
    assert after[1:] == before[1:]  # the older generations keep their thresholds
    frozen = r["frozen"]
    assert isinstance(frozen, int) and frozen >= 1000  # at least the objects alive then


def test_a_cycle_made_after_settling_is_still_collected() -> None:
    r = _probe()
    assert r["cycle_freed"] is True
    assert isinstance(r["found"], int) and r["found"] >= 2


CLI_PROBE = """
import gc, json, sys
from althan.cli import app
from althan.runtime.heap import YOUNG

before = gc.get_threshold()[0]
try:
    app(["simulate", "--homes", "2", "--json", "--data-dir", sys.argv[1]], standalone_mode=False)
finally:
    sys.stdout.flush()
print(json.dumps({"before": before, "after": gc.get_threshold()[0], "young": YOUNG,
                  "frozen": gc.get_freeze_count()}))
"""


def test_althan_simulate_settles_its_process_before_the_run(tmp_path: Path) -> None:
    out = (
        subprocess.run(
            [sys.executable, "-c", CLI_PROBE, str(tmp_path / "run")],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()
    )
    summary = json.loads(out[-2])  # the command's own --json line: the rollout ran
    assert summary["updated"] == summary["devices"] > 0
    r = json.loads(out[-1])
    assert r["before"] == 700 and r["after"] == r["young"]
    assert isinstance(r["frozen"], int) and r["frozen"] > 0
