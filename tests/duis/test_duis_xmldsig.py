from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
from lxml import etree

from althan.duis.envelope import parse_request
from althan.duis.xmldsig import (
    DSIG_NS,
    OriginatorMismatch,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
    SigningError,
    TrustStore,
    UnknownCertificate,
    normalise_dn,
    sign,
    verify,
)
from althan.duis.xmlsafe import DtdForbidden, parse_xml
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI
from althan.smki.zaz1 import Zaz1Keys

D = f"{{{DSIG_NS}}}"
SUPPLIER = TEST_SUPPLIER_EUI


def _signed(templates_dir: Path, zaz1: Zaz1Keys, name: str, eui: EUI64 | None = None) -> bytes:
    """Sign a template with `eui`'s key (default: the RequestID originator's)."""
    data = (templates_dir / name).read_bytes()
    if eui is None:
        eui = parse_request(data).request_id.originator
    cert, key = zaz1[eui]
    return sign(data, key, cert)


# ---------------------------------------------------------------- reference samples


SIGNED_SAMPLES = [
    ("signing-tool/readfw-response.xml", 50669612984035780968362471400449834504),
    ("signing-tool/readfw-response-resigned.xml", 20315062944123339095836004026371736578),
    ("signing-tool/read-inventory-response-5.4.xml", 20315062944123339095836004026371736578),
    ("signing-tool/read-inventory-response-4g.xml", 167048897159233642262001557408276884033),
    ("duis-parser/readfw-response.xml", 50669612984035780968362471400449834504),
    ("duis-sign-wrap/readfw-version-response.xml", 50669612984035780968362471400449834504),
    (
        "duis-templates/ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML",
        117636141832862931915946451229571981153,
    ),
]


@pytest.mark.parametrize(("sample", "serial"), SIGNED_SAMPLES)
def test_signed_reference_samples_verify(
    samples_dir: Path, trust_ref: TrustStore, sample: str, serial: int
) -> None:
    v = verify((samples_dir / sample).read_bytes(), trust_ref)
    assert v.signer.serial == serial
    assert v.signer.eui == DCC_EUI  # DCC responses: the DSP key
    assert v.originator == SUPPLIER


@pytest.mark.parametrize(
    ("sample", "error", "match"),
    [
        ("signing-tool/readfw-response-badsignature.xml", SignatureInvalid, "does not verify"),
        ("signing-tool/readfw-response-invalid.xml", SignatureInvalid, "digest mismatch"),
        ("signing-tool/readfw-response-nonexist-serial.xml", UnknownCertificate, "2176361418"),
        ("signing-tool/readfw-response-no-serial.xml", UnknownCertificate, "names no cert"),
        ("signing-tool/readfw-response-no-signature.xml", SignatureMissing, "no ds:Signature"),
        ("signing-tool/acknowledgement-error.xml", SignatureMissing, "no ds:Signature"),
        ("signing-tool/ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", SignatureMissing, None),
        (
            "duis-sign-wrap/8.2_READ_INVENTORY_REQUEST_DUIS-unknown-serial.XML",
            UnknownCertificate,
            "12345678901",
        ),
        (
            "duis-sign-wrap/8.2_READ_INVENTORY_REQUEST_DUIS-unknown-originator.XML",
            UnknownCertificate,
            None,
        ),
        ("signing-tool/duis-xxe.xml", DtdForbidden, "DOCTYPE"),
    ],
)
def test_broken_samples_are_refused(
    samples_dir: Path, trust_ref: TrustStore, sample: str, error: type[Exception], match: str | None
) -> None:
    with pytest.raises(error, match=match):
        verify((samples_dir / sample).read_bytes(), trust_ref)


def test_bad_signature_sample_is_not_a_digest_problem(
    samples_dir: Path, trust_ref: TrustStore
) -> None:
    # the digest still matches: only the signature value was broken
    with pytest.raises(SignatureInvalid) as info:
        verify(
            (samples_dir / "signing-tool/readfw-response-badsignature.xml").read_bytes(), trust_ref
        )
    assert "digest" not in str(info.value)
    assert not isinstance(info.value, SignatureMalformed)


def test_unknown_originator_sample(samples_dir: Path, zaz1: Zaz1Keys, trust: TrustStore) -> None:
    """F0-B3-D5-1F-30-01-00-00 has no key: signed with the supplier's key, the signer does not
    match the originator."""
    data = (
        samples_dir / "duis-sign-wrap/8.2_READ_INVENTORY_REQUEST_DUIS-unknown-originator.XML"
    ).read_bytes()
    assert "F0-B3-D5-1F-30-01-00-00" not in zaz1
    cert, key = zaz1[SUPPLIER]
    signed = sign(data, key, cert)
    with pytest.raises(OriginatorMismatch, match="F0-B3-D5-1F-30-01-00-00"):
        verify(signed, trust)


# ---------------------------------------------------------------- our own signatures


def test_round_trip_and_profile(templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore) -> None:
    signed = _signed(templates_dir, zaz1, "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
    root = parse_xml(signed)
    sig = root[-1]
    assert sig.tag == f"{D}Signature" and sig.prefix == "ds"
    assert len(root.findall(f".//{D}Signature")) == 1  # the placeholder one was dropped
    serial = sig.findtext(f".//{D}X509SerialNumber")
    cert, _ = zaz1[SUPPLIER]
    assert serial == str(cert.serial_number)
    assert sig.findtext(f".//{D}X509IssuerName") == "CN=Z1,OU=07"
    assert len(base64.b64decode(sig.findtext(f"{D}SignatureValue") or "")) == 64
    assert b"\n  " not in signed  # inter-element whitespace removed before signing
    v = verify(signed, trust)
    assert v.signer.eui == SUPPLIER and v.originator == SUPPLIER
    assert v.root.find(f"{D}Signature") is not None


def test_tampering_is_detected(templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore) -> None:
    signed = _signed(templates_dir, zaz1, "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
    with pytest.raises(SignatureInvalid, match="digest"):
        verify(signed.replace(b"90-A2</sr:DeviceID>", b"90-A3</sr:DeviceID>"), trust)
    root = parse_xml(signed)
    dv = root.find(f".//{D}DigestValue")
    assert dv is not None and dv.text
    dv.text = base64.b64encode(bytes(32)).decode()
    with pytest.raises(SignatureInvalid, match="digest"):
        verify(etree.tostring(root), trust)
    root = parse_xml(signed)
    sv = root.find(f"{D}SignatureValue")
    sv = root.find(f".//{D}SignatureValue")
    assert sv is not None and sv.text
    raw = bytearray(base64.b64decode(sv.text))
    raw[5] ^= 1
    sv.text = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify(etree.tostring(root), trust)


def test_request_signed_by_someone_else(
    templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore
) -> None:
    network_operator = EUI64.parse("90-B3-D5-1F-30-02-00-00")
    signed = _signed(templates_dir, zaz1, "8.2_READ_INVENTORY_REQUEST_DUIS.XML", network_operator)
    with pytest.raises(OriginatorMismatch, match="90-B3-D5-1F-30-02-00-00"):
        verify(signed, trust)
    # a trust store that does not know whose certificate it is cannot check: it passes
    anonymous = TrustStore([(None, zaz1[network_operator][0])])
    assert verify(signed, anonymous).signer.eui is None


def test_response_must_be_signed_by_the_dcc(
    samples_dir: Path, zaz1: Zaz1Keys, trust: TrustStore
) -> None:
    data = (samples_dir / "signing-tool/readfw-response.xml").read_bytes()
    cert, key = zaz1[SUPPLIER]
    with pytest.raises(OriginatorMismatch, match="DCC"):
        verify(sign(data, key, cert), trust)
    assert verify(sign(data, key, cert), trust, dcc_eui=None).signer.eui == SUPPLIER
    cert, key = zaz1[DCC_EUI]
    assert verify(sign(data, key, cert), trust).signer.eui == DCC_EUI


def test_element_input_is_not_modified(
    templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore
) -> None:
    signed = _signed(templates_dir, zaz1, "CS08_11.2_SUCCESS_REQUEST_DUIS.XML")
    root = parse_xml(signed)
    before = etree.tostring(root)
    for _ in range(2):
        verify(root, trust)
    assert etree.tostring(root) == before
    # pretty-printed after signing: whitespace is ignored, as by the reference tool
    pretty = etree.tostring(root, pretty_print=True)
    assert b"\n  <sr:Header>" in pretty
    verify(pretty, trust)
    verify(parse_xml(pretty, remove_blank_text=False), trust)
    assert verify(root, trust).signer.eui == DCC_EUI  # CS08 is sent by the ACB


def test_signature_anywhere(templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore) -> None:
    """Not the last child (general path of the enveloped transform): same digest."""
    root = parse_xml(_signed(templates_dir, zaz1, "8.2_READ_INVENTORY_REQUEST_DUIS.XML"))
    sig = root[-1]
    root.insert(0, sig)
    assert verify(root, trust).signer.eui == SUPPLIER
    header = root[1]
    header.append(copy.deepcopy(sig))
    with pytest.raises(SignatureMalformed, match="more than one"):
        verify(root, trust)


def test_sign_element_and_resign(templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore) -> None:
    doc = parse_xml((templates_dir / "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML").read_bytes())
    before = etree.tostring(doc)
    cert, key = zaz1[SUPPLIER]
    once = sign(doc, key, cert)
    assert etree.tostring(doc) == before
    twice = sign(once, key, cert)
    verify(twice, trust)
    assert len(parse_xml(twice).findall(f".//{D}Signature")) == 1


def test_sign_in_place_is_the_same_document_without_a_copy(
    templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore
) -> None:
    source = (templates_dir / "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML").read_bytes()
    cert, key = zaz1[SUPPLIER]
    copied = sign(parse_xml(source), key, cert)
    handed_over = parse_xml(source)
    in_place = sign(handed_over, key, cert, in_place=True)
    assert handed_over[-1].tag == f"{D}Signature"  # the element itself was signed

    def without_signature_value(doc: bytes) -> bytes:
        root = parse_xml(doc)
        root.find(f".//{D}SignatureValue").text = ""  # type: ignore[union-attr]
        return etree.tostring(root)

    # ECDSA signatures differ from one signing to the next; all else is the same bytes
    assert without_signature_value(in_place) == without_signature_value(copied)
    assert verify(in_place, trust).signer.eui == SUPPLIER
    child = parse_xml(source)[0]
    with pytest.raises(ValueError, match="document root"):
        sign(child, key, cert, in_place=True)


def test_sign_refuses_wrong_key(templates_dir: Path, zaz1: Zaz1Keys) -> None:
    cert, _ = zaz1[SUPPLIER]
    _, other_key = zaz1[DCC_EUI]
    data = (templates_dir / "8.2_READ_INVENTORY_REQUEST_DUIS.XML").read_bytes()
    with pytest.raises(SigningError, match="does not belong"):
        sign(data, other_key, cert)
    _, key = zaz1[SUPPLIER]
    with pytest.raises(SigningError, match="cannot sign"):
        sign(b"<a", key, cert)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (b"xml-exc-c14n#", b"xml-c14n-20010315", "CanonicalizationMethod"),
        (b"ecdsa-sha256", b"ecdsa-sha384", "SignatureMethod"),
        (b"xmlenc#sha256", b"xmldsig#sha1", "DigestMethod"),
        (b'URI=""', b'URI="#x"', "Reference URI"),
        (b"#enveloped-signature", b"#base64", "Transform"),
    ],
)
def test_profile_violations(
    templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore, old: bytes, new: bytes, match: str
) -> None:
    signed = _signed(templates_dir, zaz1, "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
    assert old in signed
    with pytest.raises(SignatureMalformed, match=match):
        verify(signed.replace(old, new), trust)


def test_issuer_and_serial_lookup(zaz1: Zaz1Keys, trust: TrustStore) -> None:
    cert, _ = zaz1[SUPPLIER]
    assert normalise_dn("CN=Z1, OU=07") == normalise_dn("cn=Z1,OU=07") == "CN=Z1,OU=07"
    tc = trust.by_issuer_serial("CN=Z1, OU=07", cert.serial_number)
    assert tc is not None and tc.eui == SUPPLIER
    assert trust.by_issuer_serial("CN=Z2,OU=07", cert.serial_number) is None
    assert any(t.cert == cert for t in trust.by_eui(SUPPLIER))
    assert len(trust) == len(zaz1)


def test_unknown_issuer(templates_dir: Path, zaz1: Zaz1Keys, trust: TrustStore) -> None:
    signed = _signed(templates_dir, zaz1, "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
    with pytest.raises(UnknownCertificate, match="CN=Z9"):
        verify(signed.replace(b"CN=Z1,OU=07", b"CN=Z9,OU=07"), trust)
    with pytest.raises(SignatureMalformed, match="not decimal"):
        verify(signed.replace(b"<ds:X509SerialNumber>", b"<ds:X509SerialNumber>0x"), trust)
