"""A deterministic test device PKI for a simulated fleet.

``DevicePki.generate(seed)`` gives a root CA and an issuing CA, and for any EUI-64 a device
Digital Signing (DS) and Key Agreement (KA) P-256 key pair, derived from (seed, usage, EUI) by
SHA-256, so the same seed gives the same keys in every run. Key pairs are cached; X.509
certificates are built only when asked for (and cached too). Test keys protect nothing real.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from althan.model import EUI64

Usage = Literal["ds", "ka"]

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
KEY_CACHE = 1024
"""Device keys a `DevicePki` keeps derived (the most recently used)."""
_NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)
_NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def _derive(seed: int, label: str) -> ec.EllipticCurvePrivateKey:
    digest = hashlib.sha256(f"althan-device-pki/{seed}/{label}".encode()).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _serial(seed: int, label: str) -> int:
    digest = hashlib.sha256(f"althan-device-pki-serial/{seed}/{label}".encode()).digest()
    return int.from_bytes(digest[:16], "big") >> 1 | 1


@dataclass
class DevicePki:
    """Root CA, issuing CA and per-device DS/KA keys and certificates, all from ``seed``."""

    seed: int
    _keys: OrderedDict[tuple[EUI64, str], ec.EllipticCurvePrivateKey] = field(
        default_factory=OrderedDict
    )
    """The keys used last (at most `KEY_CACHE`): an OpenSSL key costs ~2 KB, and a national
    fleet's would not fit; one is derived again in ~0.1 ms."""
    _certs: dict[tuple[EUI64, str], x509.Certificate] = field(default_factory=dict)
    _ca: dict[str, x509.Certificate] = field(default_factory=dict)

    @classmethod
    def generate(cls, seed: int) -> DevicePki:
        return cls(seed)

    # -- CAs
    @property
    def root_key(self) -> ec.EllipticCurvePrivateKey:
        return self._ca_key("root")

    @property
    def issuing_key(self) -> ec.EllipticCurvePrivateKey:
        return self._ca_key("issuing")

    def _ca_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        return _derive(self.seed, f"ca/{name}")

    def _name(self, cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "althan test device PKI"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    @property
    def root_certificate(self) -> x509.Certificate:
        if "root" not in self._ca:
            key = self.root_key
            name = self._name(f"Root {self.seed}")
            self._ca["root"] = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(_serial(self.seed, "root"))
                .not_valid_before(_NOT_BEFORE)
                .not_valid_after(_NOT_AFTER)
                .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                .add_extension(_ca_usage(), critical=True)
                .sign(key, hashes.SHA256())
            )
        return self._ca["root"]

    @property
    def issuing_certificate(self) -> x509.Certificate:
        if "issuing" not in self._ca:
            root = self.root_certificate
            self._ca["issuing"] = (
                x509.CertificateBuilder()
                .subject_name(self._name(f"Device CA {self.seed}"))
                .issuer_name(root.subject)
                .public_key(self.issuing_key.public_key())
                .serial_number(_serial(self.seed, "issuing"))
                .not_valid_before(_NOT_BEFORE)
                .not_valid_after(_NOT_AFTER)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_ca_usage(), critical=True)
                .sign(self.root_key, hashes.SHA256())
            )
        return self._ca["issuing"]

    # -- devices
    def key_for(self, eui: EUI64, usage: Usage = "ds") -> ec.EllipticCurvePrivateKey:
        """The device's private key for ``usage`` ("ds" signing, "ka" key agreement)."""
        if usage not in ("ds", "ka"):
            raise ValueError(f"usage must be 'ds' or 'ka', got {usage!r}")
        k = (eui, usage)
        keys = self._keys
        key = keys.get(k)
        if key is None:
            key = _derive(self.seed, f"device/{usage}/{eui.compact}")
            keys[k] = key
            if len(keys) > KEY_CACHE:
                keys.popitem(last=False)
        else:
            keys.move_to_end(k)
        return key

    def public_key_for(self, eui: EUI64, usage: Usage = "ds") -> ec.EllipticCurvePublicKey:
        return self.key_for(eui, usage).public_key()

    def serial_for(self, eui: EUI64, usage: Usage = "ds") -> int:
        """The serial number of the device's certificate (without building it)."""
        return _serial(self.seed, f"{usage}/{eui.compact}")

    def cert_for(self, eui: EUI64, usage: Usage = "ds") -> x509.Certificate:
        """The device certificate (issued by the issuing CA); the subject's
        x500UniqueIdentifier holds the EUI-64, as in SMKI device certificates."""
        k = (eui, usage)
        cert = self._certs.get(k)
        if cert is None:
            ku = x509.KeyUsage(
                digital_signature=usage == "ds",
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=usage == "ka",
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            )
            issuer = self.issuing_certificate
            subject = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, eui.compact)])
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer.subject)
                .public_key(self.public_key_for(eui, usage))
                .serial_number(self.serial_for(eui, usage))
                .not_valid_before(_NOT_BEFORE)
                .not_valid_after(_NOT_AFTER)
                .add_extension(ku, critical=True)
                .add_extension(
                    x509.SubjectAlternativeName([hardware_module_name(eui)]), critical=True
                )
                .sign(self.issuing_key, hashes.SHA256())
            )
            self._certs[k] = cert
        return cert


ID_ON_HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")
SMKI_DEVICE_HW_TYPE = bytes.fromhex("060d2a863a0001848fb90f01020201")
"""DER of the hwType OID SMKI device certificates carry (as in the DCC's RTDS keystore)."""


def hardware_module_name(eui: EUI64) -> x509.OtherName:
    """The subjectAltName of an SMKI device certificate: HardwareModuleName (RFC 4108) with
    the device's EUI-64 as hwSerialNum."""
    body = SMKI_DEVICE_HW_TYPE + b"\x04\x08" + eui.to_bytes()
    return x509.OtherName(ID_ON_HARDWARE_MODULE_NAME, b"\x30" + bytes([len(body)]) + body)


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
