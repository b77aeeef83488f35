"""The cyclic garbage collector in a long-running althan process, kept off its hot paths.

CPython's collector makes a young-generation pass every 700 net allocations of tracked objects
and, about every hundred of those, a full pass over every tracked object in the process. A serving
DSP or a twin holds some hundreds of thousands of long-lived objects (the DUIS schema, the
compiled statements, the app, the network model), each full pass scans them all again, and a
bulk request is many allocations: an 11.4 naming 50,000 devices made about 210 collections and
spent 10–150 ms in them (of 0.5–0.9 s), the twin 3–4 % of its CPU (docs/benchmarks.md).

`settle()` is called once a process has built what it keeps (`althan serve` in each serving
process, `althan simulate` and each shard's worker before the run): it collects once, freezes
what is alive (`gc.freeze`: never scanned again, still freed by reference counting), and lets
the young generation grow to `YOUNG` objects before a pass. Reference cycles are still
collected, just less often: at most `YOUNG` objects' worth of them wait for a pass.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG", "settle"]

YOUNG = 50_000


def settle() -> None:
    """Collect, freeze what survives, and raise the young generation's threshold to `YOUNG`
    (the older generations keep theirs)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
