"""The ZAZ1 test PKI of DCC Boxed: XML-signing certificates and private keys by EUI-64.

By default read straight from the DCC Boxed tool (`node_modules/@smartdcc/duis-sign-wrap/
dist/tool.jar`), which carries the nine credentials its signer uses; or from a directory of
`<name>.pem` certificates and `<name>.key` (DER PKCS#8) / `<name>.key.pem` private keys, such
as the reference `smki/zaz1` folder (which has more: the DS certificates of every ZAZ1
organisation).

The signer for an EUI is chosen as the reference tool does: the first credential, in the
tool's library order, whose certificate subject carries that EUI (`x500UniqueIdentifier`).
Test keys protect nothing real.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from althan.files import read_dir_or_jar
from althan.model import EUI64

__all__ = [
    "LIBRARY_ORDER",
    "Zaz1Credential",
    "Zaz1Error",
    "Zaz1Keys",
    "cert_eui",
    "load_zaz1",
]

LIBRARY_ORDER: tuple[str, ...] = (
    "dsp-xml-sign-90B3D51F30000002-ds",
    "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1",
    "xml-sign-90B3D51F30020000-ds",
    "Z1-recovery-ds",
    "xml-sign-90B3D51F30010000-ds",
    "Z1-supplier2-ds",
    "Z1-transitionalCoS-ds",
    "Z1-wanProvider-ds",
    "xml-sign-00DB123456780004-ds",
)
"""The DCC Boxed tool's certificate library, in its lookup order (first match wins)."""

_X500_UNIQUE_ID = x509.ObjectIdentifier("2.5.4.45")


class Zaz1Error(Exception):
    """A ZAZ1 source is missing or a credential in it cannot be read."""


def cert_eui(cert: x509.Certificate) -> EUI64 | None:
    """The EUI-64 in a SMKI certificate's subject `x500UniqueIdentifier` (a BIT STRING)."""
    for attr in cert.subject.get_attributes_for_oid(_X500_UNIQUE_ID):
        value = attr.value
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        # BIT STRING content: unused-bits byte (0) then the 8 bytes of the EUI
        if len(raw) == 9 and raw[0] == 0:
            raw = raw[1:]
        if len(raw) == 8:
            return EUI64.from_bytes(raw)
    return None


@dataclass(frozen=True, slots=True)
class Zaz1Credential:
    """One ZAZ1 certificate with its private key (None when only the certificate is known)."""

    name: str
    eui: EUI64
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | None

    @property
    def serial(self) -> int:
        return self.cert.serial_number

    @property
    def issuer(self) -> str:
        return self.cert.issuer.rfc4514_string()


@dataclass(frozen=True, slots=True)
class Zaz1Keys:
    """ZAZ1 credentials in lookup order."""

    credentials: tuple[Zaz1Credential, ...]
    source: str

    def signer_for(self, eui: EUI64 | str) -> Zaz1Credential:
        """The credential the reference tool would sign with for `eui` (first with a key)."""
        e = EUI64.parse(eui) if isinstance(eui, str) else eui
        for c in self.credentials:
            if c.eui == e and c.key is not None:
                return c
        raise Zaz1Error(f"no ZAZ1 signing key for {e} in {self.source}")

    def __getitem__(self, eui: EUI64 | str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        c = self.signer_for(eui)
        assert c.key is not None
        return c.cert, c.key

    def __contains__(self, eui: object) -> bool:
        if not isinstance(eui, EUI64 | str):
            return False
        try:
            self.signer_for(eui)
        except (Zaz1Error, ValueError):
            return False
        return True

    def __iter__(self) -> Iterator[Zaz1Credential]:
        return iter(self.credentials)

    def __len__(self) -> int:
        return len(self.credentials)

    def by_serial(self, serial: int) -> Zaz1Credential | None:
        for c in self.credentials:
            if c.serial == serial:
                return c
        return None

    def certificates(self) -> Iterator[tuple[EUI64, x509.Certificate]]:
        """(EUI, certificate) for every credential: feed these to a trust store."""
        for c in self.credentials:
            yield c.eui, c.cert


def _credential_file(name: str) -> bool:
    return name.endswith((".pem", ".key"))


def _read_files(source: Path) -> dict[str, bytes]:
    files = read_dir_or_jar(source, _credential_file, Zaz1Error, f"ZAZ1 source {source}")
    if files is None:
        raise Zaz1Error(f"ZAZ1 source {source} is neither a directory nor a jar")
    return files


def _load_key(name: str, files: Mapping[str, bytes]) -> ec.EllipticCurvePrivateKey | None:
    der = files.get(f"{name}.key")
    pem = files.get(f"{name}.key.pem")
    try:
        if der is not None:
            key = (
                serialization.load_pem_private_key(der, None)
                if der.lstrip().startswith(b"-----")
                else serialization.load_der_private_key(der, None)
            )
        elif pem is not None:
            key = serialization.load_pem_private_key(pem, None)
        else:
            return None
    except (ValueError, TypeError) as exc:
        raise Zaz1Error(f"{name}: private key unreadable: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise Zaz1Error(f"{name}: not an EC private key")
    return key


def load_zaz1(source: Path) -> Zaz1Keys:
    """Read the ZAZ1 credentials from the DCC Boxed tool jar or a directory of them.

    (`althan.duis.schema.find_tool_jar()` finds the jar of the npm peer; smki does not look
    for it itself, so that it depends on nothing but `model` and `files`, which reads it.)"""
    src = Path(source)
    files = _read_files(src)
    names = [n[: -len(".pem")] for n in files if n.endswith(".pem") and not n.endswith(".key.pem")]
    ordered = [n for n in LIBRARY_ORDER if n in names]
    ordered += sorted(n for n in names if n not in LIBRARY_ORDER)
    creds: list[Zaz1Credential] = []
    for name in ordered:
        try:
            cert = x509.load_pem_x509_certificate(files[f"{name}.pem"])
        except ValueError as exc:
            raise Zaz1Error(f"{name}.pem: not a PEM certificate: {exc}") from None
        eui = cert_eui(cert)
        if eui is None:
            continue  # not an EUI-bearing SMKI certificate (e.g. a CA)
        key = _load_key(name, files)
        if key is not None:
            pub = cert.public_key()
            if not isinstance(pub, ec.EllipticCurvePublicKey) or (
                pub.public_numbers() != key.public_key().public_numbers()
            ):
                raise Zaz1Error(f"{name}: private key does not match the certificate")
        creds.append(Zaz1Credential(name=name, eui=eui, cert=cert, key=key))
    if not creds:
        raise Zaz1Error(f"no ZAZ1 certificates in {src}")
    return Zaz1Keys(credentials=tuple(creds), source=str(src))
