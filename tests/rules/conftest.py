"""tests/rules: each response code and DCC alert of the catalogue provoked through signed DUIS
(or the SM WAN), with its exact code; each refusal changes nothing.

`gateway` is one DSP per test module shared by the refusal tests (rules_gateway.py): each of
them asserts that the store is exactly as before, so sharing it leaks nothing between tests.
Tests whose request is accepted use their own DSP (the `assembly`/`client` fixtures of
tests/conftest.py) or their own sim world (fleet_world.World).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rules_gateway import Gateway, open_gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with open_gateway(tmp_path_factory.mktemp("rules")) as g:
        yield g
