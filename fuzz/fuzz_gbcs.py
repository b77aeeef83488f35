#!/usr/bin/env python3
"""Mutational fuzzer of the GBCS decoder: only GbcsError may escape ``decode``.

    python fuzz/fuzz_gbcs.py --count 1000000 --seed 1 [--reference DIR]

Seeds: the RTDS vectors of the firmware-flow folders (from --reference, else
$ALTHAN_REFERENCE_DIR, else ../shared/reference) plus messages built by althan.gbcs itself;
the run says how many of each it loaded. With ALTHAN_REQUIRE_REFERENCE=1 a run without RTDS
seeds is refused (exit 2). Each input is a seed with 1-4 mutations (bit flips,
byte sets, inserts, deletes, truncation, length-byte tweaks, splices); a successfully decoded
input must also re-encode byte-identical. Exits 1 on the first other exception.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs import (
    DeviceLogAddCommand,
    FirmwareActivationAlert,
    FirmwareTransferAlert,
    GbcsError,
    ReadFirmwareVersionCommand,
    alert,
    command,
    decode,
    default_invoke_id,
    encode,
    seal,
)
from althan.model import EUI64, FirmwareVersion

FOLDERS = (
    "11.2_CS08",
    "NA_CS09",
    "NA_CCS08",
    "8.11_CCS01",
    "8.11_CCS02",
    "8.7.2_*",
    "8.8.2_*",
    "6.15.1_*",
    "6.15.2_CS02d",
)
_INTERESTING = (0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFF, 0xDD, 0xDF, 0x30)


ROOT = Path(__file__).resolve().parents[1]


def default_reference() -> Path:
    return Path(os.environ.get("ALTHAN_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))


def reference_seeds(reference: Path | None) -> list[bytes]:
    """The RTDS vectors of the firmware-flow folders under ``reference`` (none if absent)."""
    corpus: list[bytes] = []
    if reference is not None:
        root = reference / "gbcs" / "RTDS-4.5.0"
        for pattern in FOLDERS:
            for f in sorted(root.glob(f"{pattern}/*.HEX")):
                corpus.append(bytes.fromhex(f.read_text().strip()))
    return corpus


def built_seeds() -> list[bytes]:
    """Messages built by althan.gbcs itself."""
    k = ec.derive_private_key(12345, ec.SECP256R1())
    dev = EUI64.parse("00-DB-12-34-56-78-90-A4")
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    fw = FirmwareVersion(5)
    transfer = FirmwareTransferAlert.of(entity_id=dev, firmware_version=fw, when=when)
    log_add = DeviceLogAddCommand(default_invoke_id(11), dev, b"0" * 16)
    return [
        seal(
            command(
                ReadFirmwareVersionCommand(), dev, 7, remote_party=EUI64(1), remote_party_counter=2
            ),
            ka_private=k,
            ka_public=k.public_key(),
        ),
        seal(alert(FirmwareActivationAlert(when, fw), dev, 9), ds_private=k),
        seal(alert(transfer, EUI64(3), 9), ds_private=k),
        seal(command(log_add, EUI64(3), 11), ka_private=k, ka_public=k.public_key()),
    ]


def seed_corpus(reference: Path | None) -> list[bytes]:
    return reference_seeds(reference) + built_seeds()


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(b)
        if op == 0 and n:
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            b[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:
            b.insert(rng.randint(0, n), rng.choice(_INTERESTING))
        elif op == 3 and n:
            del b[rng.randrange(n) : rng.randrange(n) + rng.randint(1, 8)]
        elif op == 4 and n:
            del b[rng.randint(0, n) :]
        elif op == 5 and n:
            b[rng.randrange(n)] = rng.choice(_INTERESTING)
        elif op == 6:
            other = rng.choice(corpus)
            cut = rng.randint(0, n)
            b[cut:] = other[rng.randint(0, len(other)) :]
        elif op == 7 and n > 2:
            i = rng.randrange(n - 1)
            b[i : i + 2] = bytes([0x82, rng.randrange(256)])
    return bytes(b)


def run(count: int, seed: int, corpus: list[bytes]) -> dict[str, int]:
    rng = random.Random(seed)
    stats = {"inputs": 0, "decoded": 0, "rejected": 0}
    for _ in range(count):
        data = mutate(rng, rng.choice(corpus), corpus)
        stats["inputs"] += 1
        try:
            msg = decode(data)
        except GbcsError:
            stats["rejected"] += 1
            continue
        if encode(msg) != data:
            raise AssertionError(f"round trip differs for {data.hex()}")
        stats["decoded"] += 1
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference", type=Path, default=None)
    args = ap.parse_args(argv)
    ref = args.reference or default_reference()
    rtds = reference_seeds(ref)
    built = built_seeds()
    print(f"fuzz_gbcs: seeds: {len(rtds)} RTDS vectors from {ref}, {len(built)} built", flush=True)
    if not rtds and os.environ.get("ALTHAN_REQUIRE_REFERENCE") == "1":
        print("fuzz_gbcs: no RTDS seeds but ALTHAN_REQUIRE_REFERENCE=1", file=sys.stderr)
        return 2
    corpus = rtds + built
    t0 = time.perf_counter()
    try:
        stats = run(args.count, args.seed, corpus)
    except Exception:
        traceback.print_exc()
        return 1
    dt = time.perf_counter() - t0
    print(
        f"fuzz_gbcs: {stats['inputs']} inputs ({stats['decoded']} decoded, "
        f"{stats['rejected']} rejected with GbcsError), seed {args.seed}, "
        f"{len(corpus)} seeds, {dt:.1f} s ({stats['inputs'] / max(dt, 1e-9):.0f}/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
