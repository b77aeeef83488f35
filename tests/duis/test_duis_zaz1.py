from __future__ import annotations

from pathlib import Path

import pytest

from althan.model import EUI64
from althan.smki.zaz1 import LIBRARY_ORDER, Zaz1Error, Zaz1Keys, cert_eui, load_zaz1

EXPECTED = {
    "90-B3-D5-1F-30-01-00-00": "xml-sign-90B3D51F30010000-ds",  # test supplier
    "90-B3-D5-1F-30-02-00-00": "xml-sign-90B3D51F30020000-ds",  # network operator
    "00-DB-12-34-56-78-00-04": "xml-sign-00DB123456780004-ds",  # other user
    "90-B3-D5-1F-30-00-00-02": "dsp-xml-sign-90B3D51F30000002-ds",  # DSP
}


def test_signers_from_the_jar(zaz1: Zaz1Keys) -> None:
    for eui, name in EXPECTED.items():
        c = zaz1.signer_for(eui)
        assert c.name == name
        assert c.key is not None
        assert cert_eui(c.cert) == EUI64.parse(eui)
        assert c.issuer == "CN=Z1,OU=07"
    assert [c.name for c in zaz1.credentials[: len(LIBRARY_ORDER)]] == list(LIBRARY_ORDER)
    assert (
        zaz1.signer_for("90-B3-D5-1F-30-00-00-02").serial == 167048897159233642262001557408276884033
    )


def test_reference_dir_has_more(zaz1_ref: Zaz1Keys, zaz1: Zaz1Keys) -> None:
    assert {c.name for c in zaz1} <= {c.name for c in zaz1_ref}
    extra = zaz1_ref.by_serial(20315062944123339095836004026371736578)
    assert extra is not None and extra.name == "Z1-accessControlBroker-dSPXmlSign"
    for eui, name in EXPECTED.items():
        assert zaz1_ref.signer_for(eui).name == name  # same choice as the tool


def test_unknown_eui_and_bad_sources(zaz1: Zaz1Keys, tmp_path: Path) -> None:
    with pytest.raises(Zaz1Error, match="F0-B3-D5-1F-30-01-00-00"):
        zaz1.signer_for("F0-B3-D5-1F-30-01-00-00")
    assert "F0-B3-D5-1F-30-01-00-00" not in zaz1
    assert "90-B3-D5-1F-30-01-00-00" in zaz1
    with pytest.raises(Zaz1Error, match="no ZAZ1 certificates"):
        load_zaz1(tmp_path)
    (tmp_path / "x.pem").write_text("junk")
    with pytest.raises(Zaz1Error, match="not a PEM"):
        load_zaz1(tmp_path)
    with pytest.raises(Zaz1Error):
        load_zaz1(tmp_path / "missing")
