"""Key wiring for a simulated fleet: who holds which GBCS key.

Devices and Comms Hubs hold keys from the fleet's generated test PKI (`DevicePki`); the DCC
Access Control Broker holds its real ZAZ1 key-agreement key from the DCC Boxed keystore. The
DSP sees device keys only as public keys, as from the SMKI repository.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from althan.dsp.gbcs_out import DspGbcsKeys
from althan.duis.peers import keystore_json
from althan.gbcs import Keystore
from althan.model import DCC_EUI, EUI64
from althan.smki.boxed_keystore import remote_party_key
from althan.smki.device_pki import DevicePki

USAGES: Final[tuple[Literal["ds", "ka"], ...]] = ("ds", "ka")


class FleetKeys:
    """`KeySource` for the network: the fleet PKI, with the ACB's KA key from DCC Boxed."""

    def __init__(self, pki: DevicePki) -> None:
        self.pki = pki
        acb = remote_party_key(keystore_json(), DCC_EUI, "ka")
        assert acb.key is not None
        self.acb_ka = acb.key

    def key_for(self, eui: EUI64, usage: str = "ds") -> ec.EllipticCurvePrivateKey:
        if eui == DCC_EUI and usage == "ka":
            return self.acb_ka
        return self.pki.key_for(eui, "ka" if usage == "ka" else "ds")

    def dsp_keys(self) -> DspGbcsKeys:
        return DspGbcsKeys(
            acb_ka_private=self.acb_ka,
            device_ka_public=lambda e: self.pki.public_key_for(e, "ka"),
            device_ds_public=lambda e: self.pki.public_key_for(e, "ds"),
        )

    def remote_party_ds_public(self, eui: EUI64) -> ec.EllipticCurvePublicKey | None:
        """The DS key a device holds for remote party `eui` at commissioning: its ZAZ1 one."""
        try:
            pub = remote_party_key(keystore_json(), eui, "ds").cert.public_key()
        except LookupError:
            return None
        return pub if isinstance(pub, ec.EllipticCurvePublicKey) else None


def with_keystore(keys: DspGbcsKeys, keystore: Keystore) -> DspGbcsKeys:
    """`keys` whose device certificates are looked up in `keystore` first."""
    ds, ka = keys.device_ds_public, keys.device_ka_public
    return DspGbcsKeys(
        acb_ka_private=keys.acb_ka_private,
        device_ka_public=lambda e: keystore.public_key(e, "ka") or ka(e),
        device_ds_public=lambda e: keystore.public_key(e, "ds") or ds(e),
    )


class FleetCertificates:
    """The SMKI device certificates of a fleet's devices (`SmkiRepository`'s devices): built
    from the fleet PKI when first asked for, known by serial from the start."""

    def __init__(self, pki: DevicePki, devices: Iterable[EUI64]) -> None:
        self._pki = pki
        self._devices = frozenset(devices)
        self._holders = {
            pki.serial_for(eui, usage): (eui, usage) for eui in self._devices for usage in USAGES
        }

    def holder_of(self, serial: int) -> tuple[EUI64, str] | None:
        return self._holders.get(serial)

    def certificates(self, eui: EUI64) -> list[x509.Certificate]:
        if eui not in self._devices:
            return []
        return [self._pki.cert_for(eui, usage) for usage in USAGES]
