"""The certificates a DUIS party trusts for XML signatures, by (issuer, serial) and by EUI-64.

The signer of a DUIS document is named by ``X509IssuerSerial``; `TrustStore` finds its
certificate and the EUI-64 it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from althan.model import EUI64

__all__ = ["TrustStore", "TrustedCertificate", "normalise_dn"]


def normalise_dn(dn: str) -> str:
    """Compare-friendly form of an RFC 2253/4514 DN: "CN=U1, OU=07" -> "CN=U1,OU=07"."""
    parts: list[str] = []
    for rdn in re.split(r"(?<!\\),", dn):
        if "=" not in rdn:
            parts.append(rdn.strip())
            continue
        k, v = rdn.split("=", 1)
        parts.append(f"{k.strip().upper()}={v.strip()}")
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class TrustedCertificate:
    """A certificate the verifier trusts, with the EUI-64 it belongs to (if known)."""

    cert: x509.Certificate
    eui: EUI64 | None
    issuer: str
    serial: int
    public_key: ec.EllipticCurvePublicKey


class TrustStore:
    """Certificates trusted for XML signatures, by (issuer, serial) and by EUI-64."""

    def __init__(self, entries: Iterable[tuple[EUI64 | None, x509.Certificate]] = ()) -> None:
        self._by_key: dict[tuple[str, int], TrustedCertificate] = {}
        self._by_eui: dict[EUI64, list[TrustedCertificate]] = {}
        for eui, cert in entries:
            self.add(eui, cert)

    def add(self, eui: EUI64 | str | None, cert: x509.Certificate) -> TrustedCertificate:
        e = EUI64.parse(eui) if isinstance(eui, str) else eui
        pub = cert.public_key()
        if not isinstance(pub, ec.EllipticCurvePublicKey) or not isinstance(
            pub.curve, ec.SECP256R1
        ):
            raise ValueError("XML-signing certificates must carry a P-256 key")
        issuer = normalise_dn(cert.issuer.rfc4514_string())
        tc = TrustedCertificate(
            cert=cert, eui=e, issuer=issuer, serial=cert.serial_number, public_key=pub
        )
        self._by_key[(issuer, tc.serial)] = tc
        if e is not None:
            self._by_eui.setdefault(e, []).append(tc)
        return tc

    def by_issuer_serial(self, issuer: str, serial: int) -> TrustedCertificate | None:
        return self._by_key.get((normalise_dn(issuer), serial))

    def by_eui(self, eui: EUI64 | str) -> tuple[TrustedCertificate, ...]:
        e = EUI64.parse(eui) if isinstance(eui, str) else eui
        return tuple(self._by_eui.get(e, ()))

    def knows_serial(self, serial: int) -> bool:
        return any(s == serial for _, s in self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[TrustedCertificate]:
        return iter(self._by_key.values())
