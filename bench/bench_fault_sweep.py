"""The long fault sweep (issue 12): many seeds of several fault plans, each run checked for the
invariants (runtime/invariants.py), in parallel processes.

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
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from althan.runtime.fault_plan import load_plan
from althan.runtime.sweep import SeedVerdict, parse_seeds, run_seed, scratch_dir

DEFAULT_PLANS = (
    "default=1..200",
    "harsh=1..50",
    "links=1..25",
    "crash=1..25",
    "network=1..25",
)


def _one(job: tuple[str, int, int]) -> tuple[str, SeedVerdict, float]:
    plan_name, seed, homes = job
    t0 = time.process_time()
    with tempfile.TemporaryDirectory(prefix="althan-bench-sweep-", dir=scratch_dir()) as tmp:
        v = run_seed(load_plan(plan_name), seed, homes, Path(tmp))
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
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for name, v, cpu in pool.map(_one, jobs):
            results[name].append((v, cpu))
            verdict = "ok" if v.ok else f"BROKEN {v.broken}"
            print(f"{name} seed {v.seed}: {verdict} ({cpu:.1f} s CPU)", file=sys.stderr, flush=True)
    wall = time.monotonic() - t0
    broken = 0
    total = 0
    print(f"fault sweep: {len(jobs)} runs of {args.homes} homes, {args.workers} workers")
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
