"""Time the DUIS input floor: parse + schema-validate + verify one signed 8.2 request.

    .venv/bin/python bench/bench_duis_verify.py [N]

The 8.2 Read Inventory template (DCC reference test data) is signed by us with the ZAZ1 test
supplier key, then parsed, validated (DUIS 5.1 + MP170 overlay) and verified N times.
DESIGN §6 puts the floor at ~0.3 ms of one core.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from althan.duis.envelope import parse_request
from althan.duis.schema import DuisSchema, find_tool_jar
from althan.duis.xmldsig import TrustStore, sign, verify
from althan.duis.xmlsafe import parse_xml
from althan.smki.zaz1 import load_zaz1

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("ALTHAN_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))


def _per_call_us(fn: object, n: int) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def main(n: int) -> None:
    template = REFERENCE / "duis" / "templates" / "8.2_READ_INVENTORY_REQUEST_DUIS.XML"
    keys = load_zaz1(find_tool_jar())
    cert, key = keys["90-B3-D5-1F-30-01-00-00"]
    trust = TrustStore(keys.certificates())
    schema = DuisSchema.load()
    signed = sign(template.read_bytes(), key, cert)

    def full() -> None:
        root = parse_xml(signed)
        schema.validate(root)
        verify(root, trust)
        parse_request(root)

    root = parse_xml(signed)
    full()
    print(f"document: {len(signed)} bytes, {n} iterations x 5, best run")
    print(f"  parse_xml                 {_per_call_us(lambda: parse_xml(signed), n):8.1f} us")
    print(f"  schema.validate           {_per_call_us(lambda: schema.validate(root), n):8.1f} us")
    print(f"  verify (parsed element)   {_per_call_us(lambda: verify(root, trust), n):8.1f} us")
    print(f"  verify (bytes)            {_per_call_us(lambda: verify(signed, trust), n):8.1f} us")
    print(f"  parse_request             {_per_call_us(lambda: parse_request(root), n):8.1f} us")
    print(f"  parse+validate+verify+env {_per_call_us(full, n):8.1f} us per request")
    print(f"  sign                      {_per_call_us(lambda: sign(root, key, cert), n):8.1f} us")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
