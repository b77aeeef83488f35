"""Fuzzing Parse & Correlate (hypothesis, derandomised: the same examples in every run).

Properties:

* whatever the bytes, ``ResponseParser.parse`` raises only its typed errors (``XmlError``,
  ``NotADuisResponse``) or returns a verdict, and ``pc parse`` exits with one of its documented
  codes, never a traceback;
* soundness: when the verdict is "valid", the GBCS it vouches for is byte for byte the device's
  — for mutations of the DSP's document as sent, and for mutations of its GBCS that the DSP's
  key then re-signed (only the GBCS checks stand between those and "valid");
* ``correlate`` says "identical" only for the pre-command the DSP issued, byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pc_world import A4, RtdsDsp, gbcs_of, template_body
from typer.testing import CliRunner

from althan.cli import app
from althan.cli.pc import EXIT_CODES
from althan.duis.xmldsig import TrustStore
from althan.duis.xmlsafe import XmlError
from althan.supplier.correlate import correlate
from althan.supplier.documents import NotADuisResponse
from althan.supplier.parse import Outcome, ResponseParser

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
TOKENS = (b"<", b">", b"&", b"\x00", b"\xff", b"=", b'"', b" ", b"sr:", b"AAAA", b"====", b"/")


def mutate(rng: random.Random, base: bytes) -> bytes:
    """One to four byte-level edits: a bit flipped, a slice deleted, duplicated or replaced by
    a token, or the end cut off."""
    data = bytearray(base)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(data))
        op = rng.randrange(5)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[pos : pos + rng.randint(1, 8)]
        elif op == 2:
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 3:
            data[pos:pos] = data[pos : pos + rng.randint(1, 8)]
        else:
            del data[pos:]
    return bytes(data)


@pytest.fixture(scope="module")
def seeds(cs08_doc: bytes, cs09_doc: bytes, cs02d_doc: bytes) -> list[bytes]:
    return [cs08_doc, cs09_doc, cs02d_doc]


@pytest.fixture(scope="module")
def transform(world: RtdsDsp, reference_dir: Path) -> tuple[bytes, bytes]:
    body = template_body(reference_dir, "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML")
    req = world.client.request("6.15.2", 4, body, A4)
    return req.xml, world.send(req)


@SETTINGS
@given(which=st.integers(0, 2), rng_seed=st.integers(0, 2**32 - 1))
def test_mutated_documents(
    parser: ResponseParser, seeds: list[bytes], which: int, rng_seed: int
) -> None:
    seed = seeds[which]
    data = mutate(random.Random(rng_seed), seed)
    try:
        result = parser.parse(data)
    except (XmlError, NotADuisResponse):
        return
    assert result.outcome in Outcome
    if result.valid:
        assert result.document.gbcs == gbcs_of(seed)


@SETTINGS
@given(which=st.integers(0, 2), rng_seed=st.integers(0, 2**32 - 1))
def test_mutated_gbcs_resigned_by_the_dsp(
    world: RtdsDsp, parser: ResponseParser, seeds: list[bytes], which: int, rng_seed: int
) -> None:
    seed = seeds[which]
    good = gbcs_of(seed)
    bad = mutate(random.Random(rng_seed), good)
    result = parser.parse(world.resign(seed, bad))
    assert result.outcome in Outcome
    assert result.valid == (bad == good), result.reason


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    parser = ResponseParser(TrustStore(), _NoKeys())
    try:
        result = parser.parse(data)
    except (XmlError, NotADuisResponse):
        return
    assert not result.valid


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(which=st.integers(0, 2), rng_seed=st.integers(0, 2**32 - 1))
def test_the_cli_never_shows_a_traceback(
    seeds: list[bytes], reference_dir: Path, tmp_path: Path, which: int, rng_seed: int
) -> None:
    f = tmp_path / "doc.xml"
    f.write_bytes(mutate(random.Random(rng_seed), seeds[which]))
    r = CliRunner().invoke(
        app, ["pc", "parse", str(f), "--keystore", str(reference_dir / "gbcs/keystore")]
    )
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code in EXIT_CODES.values()
    if r.exit_code not in (0, 1, 9):
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")


@SETTINGS
@given(rng_seed=st.integers(0, 2**32 - 1))
def test_correlate_is_identical_only_for_the_issued_precommand(
    world: RtdsDsp, transform: tuple[bytes, bytes], rng_seed: int
) -> None:
    request, answer = transform
    good = gbcs_of(answer)
    bad = mutate(random.Random(rng_seed), good)
    trust = TrustStore(world.a.zaz1.certificates())
    result = correlate(request, world.resign(answer, bad), trust)
    assert result.identical == (bad == good), result.differences


class _NoKeys:
    name = "no key source"

    def public_keys(self, eui: object, usage: str) -> tuple[()]:
        return ()

    def private_keys(self, eui: object, usage: str) -> tuple[()]:
        return ()
