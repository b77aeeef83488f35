"""The DSP of ``pc_world`` and the documents it sends, shared by the Parse & Correlate tests
(one DSP per test module)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pc_world import CS09_ALERT, RtdsDsp, rtds_dsp, rtds_hex

from althan.duis.xmldsig import TrustStore
from althan.supplier.credentials import FolderKeys, KeyChain
from althan.supplier.parse import ResponseParser


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> RtdsDsp:
    return rtds_dsp(tmp_path_factory.mktemp("pc-parse"), reference_dir)


@pytest.fixture(scope="module")
def cs08_doc(world: RtdsDsp, reference_dir: Path) -> bytes:
    _req, resp, _others = world.cs08_response(reference_dir)
    return resp


@pytest.fixture(scope="module")
def cs09_doc(world: RtdsDsp, reference_dir: Path) -> bytes:
    return world.device_alert(rtds_hex(reference_dir, CS09_ALERT))


@pytest.fixture(scope="module")
def cs02d_world(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> RtdsDsp:
    """A DSP of its own: its RequestID counter 1000 is the RTDS CS02d's (as CS08's is)."""
    return rtds_dsp(tmp_path_factory.mktemp("pc-parse-cs02d"), reference_dir)


@pytest.fixture(scope="module")
def cs02d_doc(cs02d_world: RtdsDsp, reference_dir: Path) -> bytes:
    _req, _answer, resp = cs02d_world.cs02d_response(reference_dir)
    return resp


@pytest.fixture(scope="module")
def parser(world: RtdsDsp, reference_dir: Path) -> ResponseParser:
    """As `pc parse` by default: the ZAZ1 certificates, here with the RTDS keystore."""
    trust = TrustStore(world.a.zaz1.certificates())
    return ResponseParser(trust, KeyChain.of([FolderKeys.load(reference_dir / "gbcs/keystore")]))
