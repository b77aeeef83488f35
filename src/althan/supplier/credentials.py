"""Where a supplier finds the GBCS keys it checks messages with: SMKI certificates (public
keys) and its own — or, in the ZAZ1 test PKI, published — private keys.

Sources, tried in the order given (``KeyChain``):

* ``FolderKeys``: a keystore folder of ``<eui>-ds.pem`` / ``<eui>-ka.pem`` certificates and
  ``<eui>-ds.key`` / ``<eui>-ka.key`` private keys (``althan.gbcs.Keystore``), such as the
  RTDS keystore;
* ``SmkiKeys``: the SMKI repository over HTTP (DCC Boxed's look-ups): device certificates by
  ``CertificateSubjectAltName``, organisation ones by ``CertificateSubjectName``; public only;
* ``RemotePartyKeys``: the DCC Boxed keystore (``@smartdcc/dccboxed-keystore``'s
  ``keystore.json``): the ZAZ1 remote parties' certificates *and private keys*, the Access
  Control Broker's among them. That key is what checks the MAC of a device's response to a
  command the ACB sent for the user (see docs/supplier.md): outside a test PKI only the DCC
  holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs import GbcsKeyError, Keystore
from althan.model import EUI64
from althan.smki.boxed_keystore import load_boxed_keystore
from althan.supplier.smki_client import SmkiClient, SmkiError

__all__ = [
    "FolderKeys",
    "KeyChain",
    "KeySource",
    "KeySourceError",
    "RemotePartyKeys",
    "SmkiKeys",
]

PublicKeys = tuple[ec.EllipticCurvePublicKey, ...]
PrivateKeys = tuple[ec.EllipticCurvePrivateKey, ...]
_K = TypeVar("_K", ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)


class KeySourceError(Exception):
    """A key source cannot be used: a missing or unreadable keystore, an SMKI service that
    does not answer."""


class KeySource(Protocol):
    """Public keys (from certificates) and private keys by EUI-64 and usage ("ds" / "ka")."""

    @property
    def name(self) -> str: ...

    def public_keys(self, eui: EUI64, usage: str) -> PublicKeys: ...

    def private_keys(self, eui: EUI64, usage: str) -> PrivateKeys: ...


def _ec_public(cert: x509.Certificate) -> ec.EllipticCurvePublicKey | None:
    pub = cert.public_key()
    return pub if isinstance(pub, ec.EllipticCurvePublicKey) else None


@dataclass(frozen=True)
class FolderKeys:
    """A keystore folder (``althan.gbcs.Keystore``)."""

    keystore: Keystore
    name: str

    @classmethod
    def load(cls, folder: Path) -> FolderKeys:
        try:
            return cls(Keystore.load(folder), f"keystore {folder}")
        except (GbcsKeyError, OSError) as exc:
            raise KeySourceError(str(exc)) from None

    def public_keys(self, eui: EUI64, usage: str) -> PublicKeys:
        k = self.keystore.public_key(eui, usage)
        return () if k is None else (k,)

    def private_keys(self, eui: EUI64, usage: str) -> PrivateKeys:
        k = self.keystore.private_key(eui, usage)
        return () if k is None else (k,)


@dataclass(frozen=True)
class SmkiKeys:
    """The in-use certificates the SMKI service holds (devices first, then organisations)."""

    client: SmkiClient

    @property
    def name(self) -> str:
        return f"SMKI service {self.client.url}"

    def public_keys(self, eui: EUI64, usage: str) -> PublicKeys:
        try:
            certs = self.client.certificates(eui, usage) or self.client.certificates(
                eui, usage, device=False
            )
        except SmkiError as exc:
            raise KeySourceError(str(exc)) from None
        return tuple(k for k in map(_ec_public, certs) if k is not None)

    def private_keys(self, eui: EUI64, usage: str) -> PrivateKeys:
        return ()


@dataclass(frozen=True)
class RemotePartyKeys:
    """The ZAZ1 remote parties of the DCC Boxed keystore (``keystore.json``)."""

    path: Path

    @property
    def name(self) -> str:
        return f"DCC Boxed keystore {self.path}"

    @classmethod
    def load(cls, path: Path) -> RemotePartyKeys:
        try:
            load_boxed_keystore(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeySourceError(f"cannot read the DCC Boxed keystore {path}: {exc}") from None
        return cls(path)

    def public_keys(self, eui: EUI64, usage: str) -> PublicKeys:
        return tuple(
            p
            for k in load_boxed_keystore(self.path)
            if k.eui == eui and k.usage == usage and (p := _ec_public(k.cert)) is not None
        )

    def private_keys(self, eui: EUI64, usage: str) -> PrivateKeys:
        return tuple(
            k.key
            for k in load_boxed_keystore(self.path)
            if k.key is not None and k.eui == eui and k.usage == usage
        )


@dataclass(frozen=True)
class KeyChain:
    """Several sources, in order; keys found in more than one come once."""

    sources: tuple[KeySource, ...]

    @classmethod
    def of(cls, sources: Sequence[KeySource]) -> KeyChain:
        return cls(tuple(sources))

    @property
    def name(self) -> str:
        return ", ".join(s.name for s in self.sources) or "no key source"

    def public_keys(self, eui: EUI64, usage: str) -> PublicKeys:
        found = (k for s in self.sources for k in s.public_keys(eui, usage))
        return _once(found, lambda k: k.public_numbers())

    def private_keys(self, eui: EUI64, usage: str) -> PrivateKeys:
        found = (k for s in self.sources for k in s.private_keys(eui, usage))
        return _once(found, lambda k: k.private_numbers())


def _once(keys: Iterable[_K], numbers: Callable[[_K], object]) -> tuple[_K, ...]:
    """Each key once, in order: the first of those whose numbers are equal."""
    out: list[_K] = []
    for k in keys:
        if all(numbers(k) != numbers(o) for o in out):
            out.append(k)
    return tuple(out)
