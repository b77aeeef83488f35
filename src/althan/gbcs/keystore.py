"""A GBCS keystore: DS/KA certificates and private keys by EUI-64, and signature/MAC verdicts.

A folder keystore holds ``<eui>-ds.pem`` / ``<eui>-ka.pem`` (X.509 certificates, or bare public
keys) and ``<eui>-ds.key`` / ``<eui>-ka.key`` (PKCS#8 private keys), ``<eui>`` being 16 hex
digits (any case). Other files are ignored.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs.crypto import verify_mac, verify_signature
from althan.gbcs.errors import GbcsKeyError
from althan.gbcs.frame import GbcsMessage
from althan.gbcs.usecases.base import CraFlag
from althan.model import DCC_EUI, EUI64

_FILE_RE = re.compile(r"^([0-9A-Fa-f]{16})-(ds|ka)\.(pem|key)$")


class Verdict(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"
    UNKNOWN_KEY = "unknown-key"


@dataclass(frozen=True)
class Keystore:
    """Public and private DS/KA keys by EUI-64 (usage "ds" or "ka")."""

    public: Mapping[tuple[EUI64, str], ec.EllipticCurvePublicKey] = field(default_factory=dict)
    private: Mapping[tuple[EUI64, str], ec.EllipticCurvePrivateKey] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path) -> Keystore:
        root = Path(folder)
        if not root.is_dir():
            raise GbcsKeyError(f"keystore folder not found: {root}")
        pub: dict[tuple[EUI64, str], ec.EllipticCurvePublicKey] = {}
        prv: dict[tuple[EUI64, str], ec.EllipticCurvePrivateKey] = {}
        for p in sorted(root.iterdir()):
            m = _FILE_RE.match(p.name)
            if not m:
                continue
            eui = EUI64(int(m.group(1), 16))
            usage = m.group(2)
            data = p.read_bytes()
            try:
                if m.group(3) == "key":
                    k = serialization.load_pem_private_key(data, None)
                    if isinstance(k, ec.EllipticCurvePrivateKey):
                        prv[(eui, usage)] = k
                        pub.setdefault((eui, usage), k.public_key())
                else:
                    pk: object = (
                        x509.load_pem_x509_certificate(data).public_key()
                        if b"CERTIFICATE" in data
                        else serialization.load_pem_public_key(data)
                    )
                    if isinstance(pk, ec.EllipticCurvePublicKey):
                        pub[(eui, usage)] = pk
            except ValueError as e:
                raise GbcsKeyError(f"cannot read key file {p.name}: {e}") from None
        return cls(pub, prv)

    def public_key(self, eui: EUI64, usage: str) -> ec.EllipticCurvePublicKey | None:
        return self.public.get((eui, usage))

    def private_key(self, eui: EUI64, usage: str) -> ec.EllipticCurvePrivateKey | None:
        return self.private.get((eui, usage))

    def mac_key_pair(
        self, msg: GbcsMessage
    ) -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey] | None:
        """A (KA private of one end, KA public of the other end) pair for the message's MAC.

        A command's MAC is applied by the DCC Access Control Broker with its KA key, whoever the
        business originator is (a supplier's CS02d, CS03B... carry the ACB's MAC); the MAC of a
        response or alert is keyed by the KA keys of its originator and its target.
        """
        if msg.cra_flag == CraFlag.COMMAND:
            acb = DCC_EUI
            ends = ((acb, msg.target), (msg.target, acb))
        else:
            ends = ((msg.target, msg.originator), (msg.originator, msg.target))
        for a, b in ends:
            prv = self.private_key(a, "ka")
            pub = self.public_key(b, "ka")
            if prv is not None and pub is not None:
                return prv, pub
        return None

    def signature_verdict(self, msg: GbcsMessage) -> Verdict:
        if msg.signature is None:
            return Verdict.ABSENT
        key = self.public_key(msg.originator, "ds")
        if key is None:
            return Verdict.UNKNOWN_KEY
        return Verdict.VALID if verify_signature(msg, key) else Verdict.INVALID

    def mac_verdict(self, msg: GbcsMessage) -> Verdict:
        if msg.mac is None:
            return Verdict.ABSENT
        pair = self.mac_key_pair(msg)
        if pair is None:
            return Verdict.UNKNOWN_KEY
        ok = verify_mac(msg, private_key=pair[0], public_key=pair[1])
        return Verdict.VALID if ok else Verdict.INVALID
