"""`make bench`: the benchmarks whose figures go in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    py = sys.executable
    runs = [
        [py, str(HERE / "bench_duis_verify.py")],
        [py, str(HERE / "bench_device_pki.py")],
        [py, str(HERE / "bench_strategies.py"), "1000"],
        # DESIGN §6 gateway target, SQLite only (full: --requests 20000 --db sqlite postgres
        # --mix 8.2 8.2+12.2; PostgreSQL needs a server, see docs/benchmarks.md)
        [
            py,
            str(HERE / "bench_gateway_http.py"),
            "--requests",
            "2000",
            "--duration",
            "15",
            "--workers",
            "1",
            "2",
        ],
        # DESIGN §6 11.4 target at full size on SQLite (add --db both --profile for the rest)
        [py, str(HERE / "bench_11_4.py"), "--devices", "50000", "--reps", "2"],
        # issue 13: the SSI's device search on 1,000,000 devices (add --db both for PostgreSQL)
        [py, str(HERE / "bench_ssi_search.py"), "--devices", "1000000", "--reps", "20"],
        # what anomaly detection costs the gateway, by requests in the window (add --db both)
        [py, str(HERE / "bench_anomaly.py")],
        # issue 12: 325 seeded runs (20 homes) of five fault plans, each checked for the invariants
        [py, str(HERE / "bench_fault_sweep.py")],
        # issue 16: the national twin's CPU and marginal memory per device against its floor
        [py, str(HERE / "bench_twin.py")],
    ]
    for cmd in runs:
        print("$", " ".join(Path(c).name for c in cmd), flush=True)
        subprocess.run(cmd, check=True)
    for homes in (300, 1000):
        t0 = time.perf_counter()
        out = subprocess.run(
            [py, "-m", "althan.cli", "demo", "--json", "--homes", str(homes)],
            check=True,
            capture_output=True,
            text=True,
        )
        print(
            f"demo {homes} homes: {time.perf_counter() - t0:.1f} s wall;",
            out.stdout.strip().splitlines()[-1],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
