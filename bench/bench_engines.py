# mypy: disable-error-code="no-untyped-call"
"""Which distributed engine runs the twin's shards: Dask distributed or Ray, by measurement.

    python bench/bench_engines.py [--engines dask ray] [--tasks 500] [--shard-seconds 1.0]

For each engine, on this machine, a local cluster of 2 single-threaded worker processes:

- start: wall time from nothing to a cluster that has run one task;
- overhead: wall time per trivial task, 500 submitted at once and gathered (what a fault
  sweep of many seeds pays per seed beyond its own work);
- shards: 4 CPU-bound tasks of about `--shard-seconds` each (pure Python, as a shard's sim
  is): the wall time against the ideal of 2 cores, i.e. how much of the machine a shard gets;
- memory: the resident memory of the cluster's processes after the runs (what the engine costs
  beside the shards' own data).

Needs Ray installed beside Dask (``pip install ray``): Dask distributed is a dependency of
althan (`althan.runtime.shards`), Ray is not. The result is in docs/benchmarks.md
("Choosing the shard engine").
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any


def spin(seconds: float) -> int:
    """A shard's stand-in: pure-Python work for about `seconds` of one core."""
    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += sum(i * i for i in range(1000)) & 1
    return n


def noop(x: int) -> int:
    return x


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _children(pid: int) -> list[int]:
    out = [pid]
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                for c in f.read().split():
                    out.extend(_children(int(c)))
    except OSError:
        pass
    return out


def measure(
    submit_many: Callable[[Callable[..., Any], list[Any]], list[Any]],
    tasks: int,
    shard_seconds: float,
) -> dict[str, float]:
    t = time.perf_counter()
    submit_many(noop, list(range(tasks)))
    overhead_ms = 1e3 * (time.perf_counter() - t) / tasks
    t = time.perf_counter()
    submit_many(spin, [shard_seconds] * 4)
    shards = time.perf_counter() - t
    ideal = 4 * shard_seconds / 2
    return {
        "overhead_ms_per_task": overhead_ms,
        "shards_wall_s": shards,
        "shards_x_ideal": shards / ideal,
    }


def run_dask(tasks: int, shard_seconds: float) -> dict[str, float]:
    from dask.distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    client.submit(noop, 0).result()
    start = time.perf_counter() - t

    def many(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
        return list(client.gather(client.map(fn, args, pure=False)))

    r = measure(many, tasks, shard_seconds)
    r["start_s"] = start
    r["cluster_rss_mb"] = _rss_mb(_children(os.getpid()))
    client.close()
    cluster.close()
    return r


def run_ray(tasks: int, shard_seconds: float) -> dict[str, float]:
    import ray  # type: ignore[import-not-found,unused-ignore]

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    remote_noop = ray.remote(num_cpus=1)(noop)
    remote_spin = ray.remote(num_cpus=1)(spin)
    ray.get(remote_noop.remote(0))
    start = time.perf_counter() - t
    remotes = {noop: remote_noop, spin: remote_spin}

    def many(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
        return list(ray.get([remotes[fn].remote(a) for a in args]))

    r = measure(many, tasks, shard_seconds)
    r["start_s"] = start
    r["cluster_rss_mb"] = _rss_mb(_children(os.getpid()))
    ray.shutdown()
    return r


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--engines", nargs="+", choices=("dask", "ray"), default=["dask", "ray"])
    p.add_argument("--tasks", type=int, default=500)
    p.add_argument("--shard-seconds", type=float, default=1.0)
    args = p.parse_args()
    t = time.perf_counter()
    spin(args.shard_seconds)
    floor = time.perf_counter() - t
    print(f"one shard stand-in in this process: {floor:.2f} s wall")
    results = {}
    for engine in args.engines:
        run = run_dask if engine == "dask" else run_ray
        r = run(args.tasks, args.shard_seconds)
        results[engine] = r
        print(
            f"{engine:5}: start {r['start_s']:.2f} s; {r['overhead_ms_per_task']:.2f} ms per "
            f"trivial task; 4 shards of {args.shard_seconds:g} s in {r['shards_wall_s']:.2f} s "
            f"= {r['shards_x_ideal']:.2f}x the 2-core ideal; cluster RSS "
            f"{r['cluster_rss_mb']:.0f} MB",
            flush=True,
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
