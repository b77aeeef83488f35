"""A national rollout in shards: each CSP region's part of `althan simulate` run as a task of
Dask distributed, on a local cluster or on the cluster of ``--scheduler ADDRESS``.

A region's network (its SM WAN, Comms Hubs and homes) and the DSP's handling of it depend on
nothing of the other regions (the 11.4s go one per bridge model and region), so each shard is
the whole deterministic rollout over the homes of its regions, with its own store, and the
merge (`SimulationResult.merge`) gives exactly the figures of one run over the whole fleet:
the same JSON for any number of shards. Shards are by region, so at most three: smaller ones,
by groups of Comms Hubs, would need the WAN modelled per cell (each group with its own share
of the region's capacity), which it is not. The tasks run on Dask distributed
(:mod:`althan.runtime.cluster`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from althan.han.config import Strategy
from althan.model import Region
from althan.runtime.cluster import dask_client
from althan.runtime.heap import settle
from althan.runtime.simulate import PAYLOAD_SIZE, SimulationError, SimulationResult, run_simulation

__all__ = ["MAX_SHARDS", "run_sharded", "shard_regions"]

MAX_SHARDS = len(Region)


def shard_regions(shards: int) -> list[tuple[Region, ...]]:
    """The CSP regions of each of `shards` shards (round robin over North, Central, South)."""
    if not 1 <= shards <= MAX_SHARDS:
        raise SimulationError(
            f"shards must be between 1 and {MAX_SHARDS} (one per CSP region), got {shards}"
        )
    regions = list(Region)
    return [tuple(regions[i::shards]) for i in range(shards)]


def _shard(
    homes: int,
    strategy: str,
    seed: int,
    data_dir: str,
    regions: Sequence[str],
    payload_size: int,
) -> SimulationResult:
    """One shard, in a worker: the rollout over the homes of `regions` (plain values cross the
    wire; the result comes back whole). The worker's collector is settled first, as
    `althan simulate` settles its own (`althan.runtime.heap`)."""
    settle()
    return run_simulation(
        homes,
        strategy,
        seed,
        Path(data_dir),
        payload_size=payload_size,
        regions=frozenset(Region(r) for r in regions),
    )


def run_sharded(
    homes: int,
    strategy: Strategy | str,
    seed: int,
    data_dir: Path,
    shards: int,
    *,
    scheduler: str | None = None,
    payload_size: int = PAYLOAD_SIZE,
) -> SimulationResult:
    """`run_simulation` as `shards` tasks (one store each, under `data_dir`), merged."""
    groups = shard_regions(shards)
    strat = Strategy(strategy)
    wall0 = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    with dask_client(scheduler, shards) as client:
        futures = [
            client.submit(
                _shard,
                homes,
                strat.value,
                seed,
                str(data_dir / f"shard-{i}"),
                [r.value for r in regions],
                payload_size,
                pure=False,
            )
            for i, regions in enumerate(groups)
        ]
        parts: list[SimulationResult] = client.gather(futures)  # type: ignore[no-untyped-call]
    return SimulationResult.merge(parts, time.perf_counter() - wall0)
