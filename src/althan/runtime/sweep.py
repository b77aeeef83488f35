"""`althan simulate --faults PLAN --seeds A..B`: the rollout under a seeded fault plan, once
per seed, with the invariant checker after each run (the VOPR idea for this network).

Each seed gives the plan its seed and the fleet its seed; the run's verdict is the first
invariant it broke (:mod:`althan.runtime.invariants`), or none. A run's digest hashes what it
decided (every document the user got, in order and time, every delivery's end, every
device's version, what the injector did), so a failing seed can be replayed bit for bit: the
same plan, seed and size give the same digest.

The seeds are independent, so a sweep can run them as tasks on Dask distributed
(:mod:`althan.runtime.cluster`): a local cluster of `workers` processes, or a scheduler's
cluster. The verdicts are the same wherever a seed ran, and come back in seed order.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

from dask.distributed import as_completed

from althan.han.config import Strategy
from althan.runtime.cluster import dask_client
from althan.runtime.fault_plan import FaultPlan
from althan.runtime.invariants import RunState, check, observe
from althan.runtime.scenario import Scenario
from althan.runtime.simulate import SimulationError, rollout

__all__ = [
    "SeedOptions",
    "SeedVerdict",
    "parse_seeds",
    "run_seed",
    "run_seed_scratch",
    "scratch_dir",
    "sweep",
]

MAX_SEEDS = 100_000
SWEEP_PAYLOAD = 4 * 1024
"""Image payload of a sweep run: small, as the faults and not the bytes are the subject."""


class SeedOptions(TypedDict, total=False):
    """How each seed's rollout runs, besides plan, seed and size: `strategy` (default
    HAN-aware) and `payload_size` (default :data:`SWEEP_PAYLOAD`)."""

    strategy: Strategy
    payload_size: int


@dataclass(frozen=True, slots=True)
class SeedVerdict:
    seed: int
    ok: bool
    broken: str | None
    digest: str
    deliveries: dict[str, int]  # final state -> how many
    wall_seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "ok": self.ok, "broken": self.broken, "digest": self.digest}


def parse_seeds(text: str) -> range:
    """``A..B`` (both included) or one seed ``A``."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", text)
    if m is None:
        raise SimulationError(f"seeds must be A..B or A (non-negative integers), got {text!r}")
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) is not None else a
    if b < a:
        raise SimulationError(f"seed range {text!r} ends before it starts")
    if b - a + 1 > MAX_SEEDS:
        raise SimulationError(f"at most {MAX_SEEDS} seeds at once, got {b - a + 1}")
    return range(a, b + 1)


def digest(w: Scenario, s: RunState) -> str:
    """A hash of what the run decided (not of signatures, which are randomised)."""
    h = hashlib.sha256()
    for t, d in zip(w.user.times, w.user.deliveries, strict=True):
        h.update(f"{t:.6f}|{d.response_id}|{d.alert_code}|{d.device}\n".encode())
    for r in w.user.replies:
        h.update(f"reply|{r.http_status}|{r.response_code}\n".encode())
    for row in s.deliveries:
        h.update(f"{row.request_id}|{row.device}|{row.state}|{row.reason}\n".encode())
    for dev, v in sorted(s.device_versions.items()):
        h.update(f"{dev}={v}\n".encode())
    c = w.injector.counts
    h.update(repr(c).encode())
    h.update(f"{w.sim.delivered}|{w.sim.dropped}|{w.sim.now:.6f}".encode())
    return h.hexdigest()[:16]


def run_seed(
    plan: FaultPlan,
    seed: int,
    homes: int,
    data_dir: Path,
    **options: Unpack[SeedOptions],
) -> SeedVerdict:
    """One rollout of `homes` under `plan` with `seed`, checked."""
    t0 = time.perf_counter()
    w = rollout(
        homes,
        options.get("strategy", Strategy.HAN_AWARE),
        seed,
        data_dir,
        payload_size=options.get("payload_size", SWEEP_PAYLOAD),
        faults=plan.with_seed(seed),
    )
    state = observe(w)
    broken = check(state)
    counts: dict[str, int] = {}
    for d in state.deliveries:
        counts[d.state] = counts.get(d.state, 0) + 1
    verdict = SeedVerdict(
        seed,
        broken is None,
        None if broken is None else str(broken),
        digest(w, state),
        dict(sorted(counts.items())),
        time.perf_counter() - t0,
    )
    w.engine.dispose()
    return verdict


def scratch_dir() -> str | None:
    """Where a sweep's throwaway stores go: a RAM disk when there is one (each store commit
    syncs to disk, and a sweep's stores are deleted after their check), else the temp dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def run_seed_scratch(
    plan: FaultPlan,
    seed: int,
    homes: int,
    **options: Unpack[SeedOptions],
) -> SeedVerdict:
    """`run_seed` in a new temporary store, deleted after the check (one task of a sweep)."""
    with tempfile.TemporaryDirectory(prefix=f"althan-sweep-{seed}-", dir=scratch_dir()) as tmp:
        return run_seed(plan, seed, homes, Path(tmp), **options)


def sweep(
    plan: FaultPlan,
    seeds: range,
    homes: int,
    *,
    on_seed: Callable[[SeedVerdict], None] = lambda _v: None,
    workers: int = 1,
    scheduler: str | None = None,
    **options: Unpack[SeedOptions],
) -> list[SeedVerdict]:
    """`run_seed_scratch` for each seed, in seed order. In this process when `workers` is 1
    and no `scheduler` is given; otherwise each seed is a Dask task (`on_seed` is then called
    as the seeds finish, in whatever order they do)."""
    if workers < 1:
        raise SimulationError(f"workers must be >= 1, got {workers}")
    if workers == 1 and scheduler is None:
        out: list[SeedVerdict] = []
        for seed in seeds:
            v = run_seed_scratch(plan, seed, homes, **options)
            on_seed(v)
            out.append(v)
        return out
    done: dict[int, SeedVerdict] = {}
    with dask_client(scheduler, workers) as client:
        futures = [
            client.submit(run_seed_scratch, plan, seed, homes, pure=False, **options)
            for seed in seeds
        ]
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            verdict: SeedVerdict = future.result()
            on_seed(verdict)
            done[verdict.seed] = verdict
    return [done[seed] for seed in seeds]
