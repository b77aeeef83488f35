"""The long fault sweep (issue 12): many seeds of several fault plans, each run checked for the
invariants (runtime/invariants.py), each seed a task on a local Dask cluster
(althan.runtime.cluster, as `althan simulate --faults … --workers N`).

    .venv/bin/python bench/bench_fault_sweep.py [--homes 20] [--workers N]
        [--plan default=1..200 --plan harsh=1..50 ...]

Prints, per plan, how many seeds passed, the deliveries' outcomes, the wall time and the CPU
seconds per seed, and every broken seed with its first broken invariant and its digest
(replay it with `althan simulate --faults PLAN --seeds S..S --homes N`). Exits 1 when a seed
broke an invariant.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

from dask.distributed import as_completed

from althan.runtime.cluster import dask_client, local_workers
from althan.runtime.fault_plan import load_plan
from althan.runtime.sweep import SeedVerdict, parse_seeds, run_seed_scratch

DEFAULT_PLANS = (
    "default=1..200",
    "harsh=1..50",
    "links=1..25",
    "crash=1..25",
    "network=1..25",
)


def _one(plan_name: str, seed: int, homes: int) -> tuple[str, SeedVerdict, float]:
    """One seed, in a worker, with the CPU time it took there."""
    t0 = time.process_time()
    v = run_seed_scratch(load_plan(plan_name), seed, homes)
    return plan_name, v, time.process_time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--homes", type=int, default=20)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--plan", action="append", help="NAME=A..B (repeatable)")
    args = ap.parse_args()
    plans = [p.split("=", 1) for p in (args.plan or DEFAULT_PLANS)]
    jobs = [(name, seed, args.homes) for name, seeds in plans for seed in parse_seeds(seeds)]
    t0 = time.monotonic()
    results: dict[str, list[tuple[SeedVerdict, float]]] = {name: [] for name, _ in plans}
    with dask_client(None, args.workers) as client:
        futures = [client.submit(_one, *job, pure=False) for job in jobs]
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            name, v, cpu = future.result()
            results[name].append((v, cpu))
            verdict = "ok" if v.ok else f"BROKEN {v.broken}"
            print(f"{name} seed {v.seed}: {verdict} ({cpu:.1f} s CPU)", file=sys.stderr, flush=True)
    wall = time.monotonic() - t0
    for rs in results.values():
        rs.sort(key=lambda r: r[0].seed)
    broken = 0
    total = 0
    workers = local_workers(args.workers)
    print(f"fault sweep: {len(jobs)} runs of {args.homes} homes, {workers} Dask workers")
    print("| plan | seeds | passed | Activated | Failed | CPU s / seed | broken |")
    print("|---|---|---|---|---|---|---|")
    for name, seeds in plans:
        rs = results[name]
        outcomes: Counter[str] = Counter()
        for v, _cpu in rs:
            outcomes.update(v.deliveries)
        bad = [v for v, _ in rs if not v.ok]
        broken += len(bad)
        total += len(rs)
        cpu = sum(c for _, c in rs) / len(rs) if rs else 0.0
        print(
            f"| {name} | {seeds} | {len(rs) - len(bad)} / {len(rs)} | "
            f"{outcomes.get('Activated', 0):,} | {outcomes.get('Failed', 0):,} | {cpu:.2f} | "
            f"{', '.join(str(v.seed) for v in bad) or '-'} |"
        )
        for v in bad:
            print(f"  {name} seed {v.seed}: {v.broken} (digest {v.digest})")
    print(f"{total - broken} of {total} runs passed; wall {wall:.0f} s")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
