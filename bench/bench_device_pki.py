"""Time the generated device PKI: a fleet's device keys, against a floor measured in the same run.

    .venv/bin/python bench/bench_device_pki.py [N]

`DevicePki.public_key_for` derives a P-256 key pair from (seed, usage, EUI) by SHA-256 and
caches it. The floor is the bare cost of what it cannot avoid, measured here on the same
machine and moment: one SHA-256 and one `ec.derive_private_key(...).public_key()` per key.
The figure worth watching is the ratio (it should stay close to 1): absolute times move with
the machine's load, the ratio much less. Five rounds, each timing the floor and then N fresh
keys (default 5,000, the figure the test suite used to time) back to back; the ratio is the
median of the five rounds' ratios. A pass over already derived EUIs shows the cache.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec

from althan.model import EUI64
from althan.smki.device_pki import DevicePki

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _timed(run: Callable[[int], None], rep: int) -> float:
    t0 = time.perf_counter()
    run(rep)
    return time.perf_counter() - t0


def main(n: int) -> int:
    def floor(rep: int) -> None:
        for i in range(n):
            digest = hashlib.sha256(f"floor/{rep}/{i}".encode()).digest()
            scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
            ec.derive_private_key(scalar, ec.SECP256R1()).public_key()

    def fresh(rep: int) -> None:
        pki = DevicePki.generate(rep)
        for i in range(n):
            pki.public_key_for(EUI64(i))

    warm_pki = DevicePki.generate(99)
    for i in range(n):
        warm_pki.public_key_for(EUI64(i))

    def cached(_rep: int) -> None:
        for i in range(n):
            warm_pki.public_key_for(EUI64(i))

    rounds = [(_timed(floor, rep), _timed(fresh, rep), _timed(cached, rep)) for rep in range(5)]
    t_floor, t_fresh, t_cached = (min(r[i] for r in rounds) for i in range(3))
    ratio = statistics.median(f / b for b, f, _c in rounds)
    print(f"device PKI, {n} keys, 5 rounds (best shown):")
    print(f"  floor (sha256 + derive_private_key + public_key) {t_floor:7.3f} s")
    print(f"  DevicePki.public_key_for, fresh keys            {t_fresh:7.3f} s")
    print(f"  DevicePki.public_key_for, cached                {t_cached:7.3f} s")
    print(f"  ratio fresh / floor, median of rounds {ratio:.2f} ({n / t_fresh:,.0f} keys/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
