"""Where the tasks of a national twin run: Dask distributed, on the cluster of a scheduler's
address (``--scheduler tcp://host:8786``, any number of machines) or on a local cluster of
single-threaded worker processes started for the run.

The twin's shards (:mod:`althan.runtime.shards`) and the fault sweep's seeds
(:mod:`althan.runtime.sweep`) are its two kinds of task. Dask distributed rather than Ray, by
measurement (`bench/bench_engines.py`, docs/benchmarks.md): a local cluster starts in under a
second and holds a fifth of Ray's memory, which counts on a twin whose budget is a few KB per
device.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from dask.distributed import Client, LocalCluster

__all__ = ["dask_client", "local_workers"]


def local_workers(wanted: int) -> int:
    """Worker processes for a local cluster: `wanted`, but no more than the machine's cores."""
    return max(1, min(wanted, os.cpu_count() or 1))


@contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of `scheduler`'s cluster, or of a local cluster of `workers` processes (one
    thread each: the sim is pure Python, so threads would only share one core) that is closed
    when the block ends."""
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=local_workers(workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    try:
        with Client(cluster if cluster is not None else scheduler) as client:  # type: ignore[no-untyped-call]
            yield client
    finally:
        if cluster is not None:
            cluster.close()
