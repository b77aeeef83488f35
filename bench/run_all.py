"""`make bench`: the benchmarks whose figures go in docs/benchmarks.md.

    .venv/bin/python bench/run_all.py [--quick] [--json]

Each benchmark measures its figure against a floor measured in the same run (the machine is a
shared 2-core one: absolute times move from run to run, ratios much less). ``--quick`` runs
only the national-scale figures of issue 16 at sizes that take a few minutes in all (the DUIS
gateway on SQLite, the 11.4 fan-out of 50,000 devices on both engines, the twin at two fleet
sizes); ``--json`` ends stdout with one JSON object holding each figure and its floor
(``gateway_cpu_ms``, ``gateway_floor_ms``, ``fanout_11_4_s``, ``fanout_11_4_floor_s``,
``twin_cpu_ms_per_device``, ``twin_floor_ms_per_device``, ``twin_kb_per_device``, …).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable


def _bench(name: str, *args: str) -> list[str]:
    return [PY, str(HERE / name), *args]


QUICK: list[tuple[str, list[str]]] = [
    # issue 16: server CPU per signed 8.2 against the floor, SQLite, 1 worker, wrk load
    (
        "gateway",
        _bench(
            "bench_gateway_http.py",
            *("--requests", "12000", "--duration", "6", "--workers", "1", "--summary-json"),
        ),
    ),
    # issue 16: one 11.4 naming 50,000 devices with a 1 MB image, both engines
    (
        "fanout",
        _bench(
            "bench_11_4.py",
            *("--devices", "50000", "--image-bytes", "1000000", "--reps", "2"),
            *("--db", "both", "--json"),
        ),
    ),
    # issue 16: the twin's CPU and memory per device against its crypto floor
    ("twin", _bench("bench_twin.py", "--json")),
]

FULL: list[tuple[str, list[str]]] = [
    ("duis_verify", _bench("bench_duis_verify.py")),
    ("device_pki", _bench("bench_device_pki.py")),
    ("strategies", _bench("bench_strategies.py", "1000")),
    # DESIGN §6 gateway target: both engines, 1 and 2 workers (PostgreSQL: the local server)
    (
        "gateway",
        _bench(
            "bench_gateway_http.py",
            *("--requests", "20000", "--duration", "8", "--workers", "1", "2"),
            *("--db", "sqlite", "postgres", "--summary-json"),
        ),
    ),
    (
        "fanout",
        _bench(
            "bench_11_4.py",
            *("--devices", "50000", "--image-bytes", "1000000", "--reps", "3"),
            *("--db", "both", "--json"),
        ),
    ),
    ("twin", _bench("bench_twin.py", "--json")),
    # issue 13: the SSI's device search on 1,000,000 devices (add --db both for PostgreSQL)
    ("ssi_search", _bench("bench_ssi_search.py", "--devices", "1000000", "--reps", "20")),
    # what anomaly detection costs the gateway, by requests in the window (add --db both)
    ("anomaly", _bench("bench_anomaly.py")),
    # issue 12: 325 seeded runs (20 homes) of five fault plans, each checked for the invariants
    ("fault_sweep", _bench("bench_fault_sweep.py")),
]


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON object on the last line of a benchmark's stdout that holds one."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            found: dict[str, Any] = json.loads(line)
            return found
    return {}


def run(name: str, cmd: list[str], figures: dict[str, Any]) -> None:
    print("$", " ".join(Path(c).name for c in cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(proc.stdout)
    print(f"  ({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    if proc.returncode:
        raise SystemExit(f"{name} failed ({proc.returncode})")
    figures.update(last_json(proc.stdout))


def demos(figures: dict[str, Any]) -> None:
    for homes in (300, 1000):
        t0 = time.perf_counter()
        out = subprocess.run(
            [PY, "-m", "althan.cli", "demo", "--json", "--homes", str(homes)],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        print(f"demo {homes} homes: {wall:.1f} s wall;", out.stdout.strip().splitlines()[-1])
        figures[f"demo_{homes}_wall_s"] = round(wall, 1)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="only issue 16's figures, small runs")
    p.add_argument("--json", action="store_true", help="end with one JSON object of figures")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    figures: dict[str, Any] = {}
    for name, cmd in QUICK if args.quick else FULL:
        run(name, cmd, figures)
    if not args.quick:
        demos(figures)
    figures["bench_wall_s"] = round(time.perf_counter() - t0, 1)
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
