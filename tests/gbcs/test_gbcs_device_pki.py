"""The deterministic generated device PKI."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from althan.model import EUI64
from althan.smki.device_pki import DevicePki


def test_deterministic_per_seed_and_eui() -> None:
    a, b, c = DevicePki.generate(1), DevicePki.generate(1), DevicePki.generate(2)
    eui = EUI64.parse("00-DB-12-34-56-78-90-A4")
    n = a.key_for(eui).private_numbers().private_value
    assert n == b.key_for(eui).private_numbers().private_value
    assert n != c.key_for(eui).private_numbers().private_value
    assert n != a.key_for(eui, "ka").private_numbers().private_value
    assert n != a.key_for(EUI64(eui.value + 1)).private_numbers().private_value
    assert a.key_for(eui) is a.key_for(eui)  # cached


def test_certificates_chain_and_name_the_device() -> None:
    pki = DevicePki.generate(5)
    eui = EUI64(0x00DB1234567890A4)
    cert = pki.cert_for(eui, "ka")
    assert cert.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)[0].value == (
        "00DB1234567890A4"
    )
    assert cert.public_key() == pki.public_key_for(eui, "ka")
    issuing = pki.issuing_certificate
    issuing_key, root_key = issuing.public_key(), pki.root_certificate.public_key()
    assert isinstance(issuing_key, ec.EllipticCurvePublicKey)
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    issuing_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    root_key.verify(issuing.signature, issuing.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    assert cert.issuer == issuing.subject
