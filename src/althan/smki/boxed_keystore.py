"""The DCC Boxed keystore (npm peer @smartdcc/dccboxed-keystore): ZAZ1 remote-party keys.

Holds the GBCS digital-signing and key-agreement certificates and private keys of the DCC
Boxed remote parties (the Access Control Broker 90-B3-D5-1F-30-00-00-02, test suppliers, …).
Test keys, protecting nothing real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from althan.model import EUI64


class KeystoreError(LookupError):
    pass


@dataclass(frozen=True)
class RemotePartyKey:
    eui: EUI64
    usage: str  # "ds" | "ka"
    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | None


@cache
def load_boxed_keystore(path: Path) -> tuple[RemotePartyKey, ...]:
    """The keystore.json of the npm peer (callers find it: `duis.peers.peer_file`)."""
    data = json.loads(path.read_text())
    out: list[RemotePartyKey] = []
    for eui_hex, entry in sorted(data.items()):
        eui = EUI64.parse(eui_hex)
        for field, usage in (("digitalSignature", "ds"), ("keyAgreement", "ka")):
            for _serial, item in sorted((entry.get(field) or {}).items()):
                try:
                    cert = x509.load_pem_x509_certificate(item["certificate"].encode())
                except ValueError:  # a few test certificates carry non-DER quirks: skip them
                    continue
                key = None
                if item.get("privateKey"):
                    k = serialization.load_pem_private_key(item["privateKey"].encode(), None)
                    if isinstance(k, ec.EllipticCurvePrivateKey):
                        key = k
                out.append(RemotePartyKey(eui, usage, item.get("name", ""), cert, key))
    return tuple(out)


def remote_party_key(path: Path, eui: EUI64, usage: str, prefer: str = "Z1-") -> RemotePartyKey:
    """The (preferably ZAZ1 'Z1-') credential of `eui` for `usage` with a private key."""
    cands = [k for k in load_boxed_keystore(path) if k.eui == eui and k.usage == usage and k.key]
    if not cands:
        raise KeystoreError(f"no {usage} key for {eui} in the DCC Boxed keystore")
    cands.sort(key=lambda k: (not k.name.startswith(prefer), k.name))
    return cands[0]


def ds_public_keys(path: Path) -> dict[EUI64, tuple[ec.EllipticCurvePublicKey, ...]]:
    """Every remote party's GBCS digital-signing public keys, by EUI (what the SMKI repository
    says a user's signature on a critical command must verify with)."""
    out: dict[EUI64, list[ec.EllipticCurvePublicKey]] = {}
    for k in load_boxed_keystore(path):
        pub = k.cert.public_key()
        if k.usage == "ds" and isinstance(pub, ec.EllipticCurvePublicKey):
            out.setdefault(k.eui, []).append(pub)
    return {eui: tuple(keys) for eui, keys in out.items()}
