"""Mutation fuzzing of the DUIS input path: parse_xml -> schema -> parse_request -> verify.

Only the modules' typed errors may come out. Used by test_duis_fuzz.py (a few thousand
examples) and runnable standalone for longer runs:

    .venv/bin/python tests/duis/fuzz_duis.py 200000
"""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import etree

from althan.duis.envelope import EnvelopeError, parse_request
from althan.duis.schema import DuisSchema, SchemaInvalid
from althan.duis.xmldsig import SignatureError, TrustStore, verify
from althan.duis.xmlsafe import XmlError, parse_xml

TYPED = (XmlError, EnvelopeError, SignatureError, SchemaInvalid)

TOKENS: Sequence[bytes] = (
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x10FFFF;",
    b"&#13;",
    b"]]>",
    b"<![CDATA[x]]>",
    b"<!DOCTYPE a>",
    b'<!ENTITY x "y">',
    b"&x;",
    b"<!--",
    b"-->",
    b"<?pi x?>",
    b"\xff",
    b"\x00",
    b":",
    b"-",
    b"0",
    b"99999999999999999999999",
    b"=",
    b'"',
    b"'",
    b" ",
    b"\n",
    b"\t",
    b"<ds:Signature/>",
    b"<sr:Body/>",
    b"</sr:Header>",
    b'xmlns:ds="urn:x"',
    b'xmlns=""',
    b"ZGVmYXVsdA==",
    b"====",
    b"+/",
    b"ds:",
    b"sr:",
    b"\xc3\xa9",
    b"\xe2\x80\xae",
)


def mutate(rng: random.Random, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(data))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[pos : pos + rng.randint(1, 16)]
        elif op == 2:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 3:
            del data[pos:]
        elif op == 4:
            end = min(len(data), pos + rng.randint(1, 64))
            data[pos:pos] = data[pos:end]
        else:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(data)


def mutate_tree(rng: random.Random, base: bytes) -> bytes:
    """Structured mutation: change one element's text or attribute, or move/drop an element."""
    root = parse_xml(base)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    el = rng.choice(elements)
    op = rng.randrange(5)
    if op == 0:
        el.text = rng.choice(
            [
                "",
                " ",
                "x",
                "0",
                "-1",
                "1" * 70,
                "CN=Z1, OU=07",
                "ZGVmYXVsdA==",
                "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1",
                "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:99999999999999999999",
                "\u00e9",
                "A" * 88,
                (el.text or "") + "=",
            ]
        )
    elif op == 1:
        el.set(rng.choice(["Algorithm", "URI", "schemaVersion"]), rng.choice(["", "x", "5.9", "#"]))
    elif op == 2 and (parent := el.getparent()) is not None:
        parent.remove(el)
    elif op == 3:
        target = rng.choice(elements)
        if el is not target and el not in target.iterancestors() and el is not root:
            target.append(el)
    else:
        el.append(etree.Element(el.tag))
    return etree.tostring(root)


def check(data: bytes, trust: TrustStore, schema: DuisSchema) -> None:
    """Run the whole input path; return quietly on typed errors."""
    try:
        root = parse_xml(data)
    except XmlError:
        return
    steps: list[Callable[[], object]] = [
        lambda: schema.validate(root),
        lambda: parse_request(root),
        lambda: verify(root, trust),
        lambda: verify(data, trust),
    ]
    for step in steps:
        with contextlib.suppress(*TYPED):
            step()


def seeds(reference: Path, trust_signer: Callable[[bytes], bytes]) -> list[bytes]:
    t = reference / "duis" / "templates"
    s = reference / "duis" / "samples"
    return [
        trust_signer((t / "8.2_READ_INVENTORY_REQUEST_DUIS.XML").read_bytes()),
        trust_signer((t / "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML").read_bytes()),
        (s / "signing-tool" / "readfw-response.xml").read_bytes(),
        (t / "12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML").read_bytes(),
    ]


def main(count: int) -> None:
    from althan.duis.xmldsig import sign
    from althan.smki.zaz1 import load_zaz1

    reference = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
    keys = load_zaz1(reference / "smki" / "zaz1")
    trust = TrustStore(keys.certificates())
    cert, key = keys["90-B3-D5-1F-30-01-00-00"]
    schema = DuisSchema.load()
    base = seeds(reference, lambda d: sign(d, key, cert))
    rng = random.Random(0)
    for i in range(count):
        seed = rng.choice(base)
        data = mutate(rng, seed) if i % 2 else mutate_tree(rng, seed)
        check(data, trust, schema)
    print(f"{count} mutated documents: only typed errors")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
