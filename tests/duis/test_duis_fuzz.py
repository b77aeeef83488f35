"""Property: mutated DUIS input only ever raises the typed errors of the duis modules."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import fuzz_duis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from althan.duis.schema import DuisSchema
from althan.duis.xmldsig import TrustStore, sign
from althan.smki.zaz1 import Zaz1Keys

SETTINGS = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


@pytest.fixture(scope="module")
def seeds(reference_dir: Path, zaz1: Zaz1Keys) -> list[bytes]:
    cert, key = zaz1["90-B3-D5-1F-30-01-00-00"]
    return fuzz_duis.seeds(reference_dir, lambda d: sign(d, key, cert))


@pytest.mark.slow
@SETTINGS
@given(seed_index=st.integers(0, 3), rng_seed=st.integers(0, 2**32 - 1))
def test_byte_mutations(
    seeds: list[bytes], trust_ref: TrustStore, schema51: DuisSchema, seed_index: int, rng_seed: int
) -> None:
    data = fuzz_duis.mutate(random.Random(rng_seed), seeds[seed_index])
    fuzz_duis.check(data, trust_ref, schema51)


@pytest.mark.slow
@SETTINGS
@given(seed_index=st.integers(0, 3), rng_seed=st.integers(0, 2**32 - 1))
def test_tree_mutations(
    seeds: list[bytes], trust_ref: TrustStore, schema51: DuisSchema, seed_index: int, rng_seed: int
) -> None:
    data = fuzz_duis.mutate_tree(random.Random(rng_seed), seeds[seed_index])
    fuzz_duis.check(data, trust_ref, schema51)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    from althan.duis.envelope import EnvelopeError, parse_request
    from althan.duis.xmlsafe import XmlError

    with contextlib.suppress(XmlError, EnvelopeError):
        parse_request(data)
