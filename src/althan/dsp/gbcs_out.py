"""GBCS commands the DSP sends, as real MAC'd bytes.

Commands go from the DCC Access Control Broker (90-B3-D5-1F-30-00-00-02) with the user as the
supplementary remote party and the user's RequestID counter as its counter (the URP pattern).
The MAC key comes from the ACB's KA private key and the device's KA public key (SMKI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from althan import gbcs
from althan.model import EUI64

PublicKeyFor = Callable[[EUI64], ec.EllipticCurvePublicKey | None]


class MissingDeviceKey(LookupError):
    pass


@dataclass(frozen=True)
class DspGbcsKeys:
    """The DSP's GBCS key material: its ACB KA key, and the SMKI repository's device keys."""

    acb_ka_private: ec.EllipticCurvePrivateKey
    device_ka_public: PublicKeyFor
    device_ds_public: PublicKeyFor

    def ka_of(self, eui: EUI64) -> ec.EllipticCurvePublicKey:
        k = self.device_ka_public(eui)
        if k is None:
            raise MissingDeviceKey(f"no KA certificate for {eui} in the SMKI repository")
        return k


def _counter(counter: int) -> int:
    """GBCS transaction IDs are 64-bit; keep the user's counter in range."""
    return counter & ((1 << 62) - 1)


def cs08_command(
    keys: DspGbcsKeys, *, device: EUI64, user: EUI64, counter: int, when: datetime
) -> bytes:
    return gbcs.build_cs08_command(
        target=device,
        counter=_counter(counter),
        ka_private=keys.acb_ka_private,
        ka_public=keys.ka_of(device),
        remote_party=user,
        remote_party_counter=_counter(counter),
        when=when,
    )


def ccs01_command(
    keys: DspGbcsKeys,
    *,
    chf: EUI64,
    device: EUI64,
    install_code: bytes,
    user: EUI64,
    counter: int,
    when: datetime,
) -> bytes:
    del when
    return gbcs.build_ccs01_command(
        chf=chf,
        device_id=device,
        install_code=install_code or bytes(16),
        counter=_counter(counter),
        ka_private=keys.acb_ka_private,
        ka_public=keys.ka_of(chf),
        remote_party=user,
        remote_party_counter=_counter(counter),
    )


def ccs02_command(
    keys: DspGbcsKeys, *, chf: EUI64, device: EUI64, user: EUI64, counter: int, when: datetime
) -> bytes:
    del when
    return gbcs.build_ccs02_command(
        chf=chf,
        device_id=device,
        counter=_counter(counter),
        ka_private=keys.acb_ka_private,
        ka_public=keys.ka_of(chf),
        remote_party=user,
        remote_party_counter=_counter(counter),
    )


def join_command(
    keys: DspGbcsKeys,
    *,
    target: EUI64,
    other: EUI64,
    user: EUI64,
    counter: int,
    when: datetime,
    unjoin: bool,
) -> bytes:
    """CS03A2 (non-critical join, 8.7.2) or CS04AC (unjoin, 8.8.2) from the ACB for the user."""
    c = _counter(counter)
    return gbcs.build_join_command(
        target=target,
        other=other,
        counter=c,
        ka_private=keys.acb_ka_private,
        ka_public=keys.ka_of(target),
        remote_party=user,
        remote_party_counter=c,
        when=when,
        unjoin=unjoin,
    )
