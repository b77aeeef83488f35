#!/usr/bin/env python3
"""Fuzz target for althan.zigbee.ota.parse_ota.

    python fuzz/fuzz_ota.py --count 1000000 --seed 1          # pure-Python mutator
    python fuzz/fuzz_ota.py --count 100000 --atheris           # coverage-guided (if installed)

Seeds: the real OTA files in ``<reference>/zigbee-ota`` (whole, at low weight, and as
"miniatures" that keep their header and sub-element structure with short values), the
firmware images of the DUIS 11.1 / 11.4 templates, and generated images of both forms.
Mutations: bit flips, interesting byte values, truncations, insertions/deletions, splices
of two seeds, and edits of the length fields (header_length, total_image_size, field
control, every sub-element length, the gbcs 0x40 byte).

Oracle: ``parse_ota`` either raises an ``OtaError`` or returns an image that rebuilds to
exactly the bytes it came from (``build_ota(img, strict_form=False) ==
data[wrapper_offset : wrapper_offset + total_image_size]``). Anything else is a bug: the
input is written to ``--crash-dir`` and the run stops with exit code 1.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import random
import re
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec

from althan.zigbee.ota import (
    OtaError,
    OtaImage,
    SubElement,
    build_ota,
    new_ota_image,
    parse_ota,
)
from althan.zigbee.testimage import build_test_image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = Path(
    os.environ.get("ALTHAN_REFERENCE_DIR", ROOT.parent / "shared" / "reference")
)
FORMS: tuple[Literal["auto", "zigbee", "gbcs"], ...] = ("auto", "auto", "zigbee", "gbcs")
INTERESTING = (0x00, 0x01, 0x40, 0x7F, 0x80, 0xFF, 0x1E, 0xF1, 0xEE, 0x0B)


@dataclass
class Seed:
    data: bytes
    length_fields: list[tuple[int, int]]  # (offset, width) of size/length fields


@dataclass
class Stats:
    count: int = 0
    ok: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.count / self.seconds if self.seconds else 0.0
        ok = sum(self.ok.values())
        return (
            f"{self.count} inputs in {self.seconds:.1f} s ({rate:,.0f}/s): {ok} parsed"
            f" {dict(self.ok)}, {sum(self.errors.values())} OtaError {dict(self.errors)}"
        )


def _length_fields(data: bytes) -> list[tuple[int, int]]:
    try:
        img = parse_ota(data)
    except OtaError:
        return [(6, 2), (8, 2), (52, 4)]
    base = img.wrapper_offset
    fields = [(base + 6, 2), (base + 8, 2), (base + 52, 4)]
    if img.form == "zigbee":
        pos = base + img.header.header_length
        for el in img.sub_elements:
            fields.append((pos + 2, 4))
            pos += 6 + el.length
    elif img.gbcs_signature is not None:
        fields.append((base + img.header.total_image_size - 65, 1))
    return fields


def _miniature(img: OtaImage, keep: int) -> bytes:
    """Same header and element structure as ``img``, values cut to ``keep`` bytes."""
    h = img.header
    common = {
        "manufacturer_code": h.manufacturer_code,
        "image_type": h.image_type,
        "file_version": h.file_version,
        "header_string": h.header_string,
        "stack_version": h.stack_version,
        "header_version": h.header_version,
        "security_credential_version": h.security_credential_version,
        "upgrade_file_destination": h.upgrade_file_destination,
        "min_hw": h.minimum_hardware_version,
        "max_hw": h.maximum_hardware_version,
    }
    if img.form == "zigbee":
        subs = [SubElement.of(s.tag, s.value[:keep]) for s in img.sub_elements]
        return build_ota(new_ota_image(form="zigbee", sub_elements=subs, **common))  # type: ignore[arg-type]
    return build_ota(
        new_ota_image(
            form="gbcs",
            manufacturer_image=img.manufacturer_image[:keep],
            force_replace=img.force_replace,
            gbcs_signature=img.gbcs_signature,
            **common,  # type: ignore[arg-type]
        ),
        strict_form=False,
    )


def load_seeds(reference: Path | None) -> tuple[list[Seed], list[Seed]]:
    """(small seeds, whole real files)."""
    small: list[bytes] = []
    big: list[bytes] = []
    if reference is not None and (reference / "zigbee-ota").is_dir():
        for p in sorted((reference / "zigbee-ota").iterdir()):
            if p.name.endswith(".md"):
                continue
            data = p.read_bytes()
            big.append(data)
            img = parse_ota(data)
            small.append(_miniature(img, 48))
            if img.wrapper == "legrand":
                inner = _miniature(img, 48)
                small.append(len(inner).to_bytes(4, "little") + inner + bytes(17))
        tdir = reference / "duis" / "templates"
        for name in (
            "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML",
            "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML",
        ):
            path = tdir / name
            if path.is_file():
                m = re.search(r"FirmwareImage>([^<]+)<", path.read_text())
                if m:
                    small.append(base64.b64decode(m.group(1)))
    for i, form in enumerate(("gbcs", "zigbee", "gbcs", "zigbee")):
        small.append(
            build_test_image(
                0x1234 + i,
                i,
                i * 7,
                min_hw=1 if i % 2 else None,
                max_hw=3 if i % 2 else None,
                payload_size=16 + 40 * i,
                form=form,  # type: ignore[arg-type]
            )
        )
    key = ec.derive_private_key(0x5EED, ec.SECP256R1())
    small.append(build_test_image(0x4242, 2, 3, payload_size=80, form="gbcs", signing_key=key))
    # a synthetic IKEA NGIS container and an unknown 32-byte prefix
    inner = small[-1]
    small.append(b"NGIS" + bytes(12) + struct.pack("<II", 24, len(inner)) + inner + bytes(8))
    small.append(b"\xaa" * 32 + inner)
    return (
        [Seed(d, _length_fields(d)) for d in small],
        [Seed(d, _length_fields(d)) for d in big],
    )


def mutate(rng: random.Random, seed: Seed, other: Seed) -> bytes:
    data = bytearray(seed.data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 5))):
        op = rng.randrange(9)
        n = len(data)
        if op == 0 and n:  # bit flip
            i = rng.randrange(n)
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # interesting byte
            data[rng.randrange(n)] = rng.choice(INTERESTING)
        elif op == 2:  # truncate
            del data[rng.randrange(n + 1) :]
        elif op == 3 and seed.length_fields:  # length-field edit
            off, width = rng.choice(seed.length_fields)
            if off + width <= len(data):
                cur = int.from_bytes(data[off : off + width], "little")
                new = rng.choice(
                    (
                        0,
                        1,
                        cur - 1,
                        cur + 1,
                        cur * 2,
                        cur // 2,
                        (1 << (8 * width)) - 1,
                        rng.randrange(1 << (8 * width)),
                        len(data),
                        len(data) - off,
                    )
                ) % (1 << (8 * width))
                data[off : off + width] = new.to_bytes(width, "little")
        elif op == 4:  # splice
            cut_a = rng.randrange(n + 1)
            cut_b = rng.randrange(len(other.data) + 1)
            data = data[:cut_a] + other.data[cut_b:]
        elif op == 5:  # insert random bytes
            i = rng.randrange(n + 1)
            data[i:i] = rng.randbytes(rng.choice((1, 2, 4, 6, 65)))
        elif op == 6 and n:  # delete a range
            i = rng.randrange(n)
            del data[i : i + rng.choice((1, 2, 4, 6, 64))]
        elif op == 7 and n:  # duplicate a chunk
            i = rng.randrange(n)
            data[i:i] = data[i : i + rng.randrange(1, 70)]
        elif op == 8:  # append junk (trailing bytes)
            data += rng.randbytes(rng.randrange(1, 20))
    return bytes(data)


def check_one(data: bytes, form: Literal["auto", "zigbee", "gbcs"]) -> str:
    """Parse; return an outcome label. Raises on anything that is not an OtaError."""
    try:
        img = parse_ota(data, form=form)
    except OtaError as e:
        return "E:" + type(e).__name__
    start = img.wrapper_offset
    expected = data[start : start + img.header.total_image_size]
    rebuilt = build_ota(img, strict_form=False)
    if rebuilt != expected:
        raise AssertionError("parse/build round trip changed the bytes")
    if img.sha256 != hashlib.sha256(data).hexdigest():
        raise AssertionError("sha256 is not the hash of the input")
    return "ok:" + img.form + (f"+{img.wrapper}" if img.wrapper else "")


def run(
    count: int,
    seed: int,
    reference: Path | None = DEFAULT_REFERENCE,
    crash_dir: Path = Path("fuzz-crashes"),
    progress: Callable[[Stats], None] | None = None,
    big_weight: float = 0.02,
) -> Stats:
    rng = random.Random(seed)
    small, big = load_seeds(reference)
    pool = small + big
    stats = Stats()
    t0 = time.perf_counter()
    for i in range(count):
        s = rng.choice(big) if big and rng.random() < big_weight else rng.choice(small)
        data = mutate(rng, s, rng.choice(pool))
        form = rng.choice(FORMS)
        try:
            label = check_one(data, form)
        except Exception:
            crash_dir.mkdir(parents=True, exist_ok=True)
            path = crash_dir / f"crash-{hashlib.sha256(data).hexdigest()[:16]}-{form}.bin"
            path.write_bytes(data)
            print(f"CRASH at input {i}, saved {path}", file=sys.stderr)
            raise
        if label.startswith("E:"):
            stats.errors[label[2:]] += 1
        else:
            stats.ok[label[3:]] += 1
        stats.count += 1
        if progress is not None and stats.count % 100_000 == 0:
            stats.seconds = time.perf_counter() - t0
            progress(stats)
    stats.seconds = time.perf_counter() - t0
    return stats


def run_atheris(count: int, reference: Path | None) -> None:  # pragma: no cover - optional
    import atheris

    small, _ = load_seeds(reference)

    def target(data: bytes) -> None:
        # first byte picks the parse mode, the rest is the file
        if data:
            check_one(data[1:], FORMS[data[0] % len(FORMS)])

    corpus = Path("fuzz-corpus-ota")
    corpus.mkdir(exist_ok=True)
    for i, s in enumerate(small):
        (corpus / f"seed-{i}").write_bytes(b"\x00" + s.data)
    atheris.instrument_all()
    atheris.Setup(
        [sys.argv[0], f"-runs={count}", "-max_len=4096", "-print_final_stats=1", str(corpus)],
        target,
    )
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    ap.add_argument("--crash-dir", type=Path, default=Path("fuzz-crashes"))
    ap.add_argument("--atheris", action="store_true", help="coverage-guided with atheris")
    args = ap.parse_args(argv)
    ref = args.reference if (args.reference / "zigbee-ota").is_dir() else None
    if ref is None:
        print(f"note: no reference files at {args.reference}; generated seeds only")
    if args.atheris:
        run_atheris(args.count, ref)
        return 0
    try:
        stats = run(
            args.count,
            args.seed,
            ref,
            args.crash_dir,
            progress=lambda s: print(s.line(), flush=True),
        )
    except Exception as e:  # a finding: report it, non-zero exit
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("done:", stats.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
