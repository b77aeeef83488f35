"""GBCS commands the DSP sends, as real MAC'd bytes.

Commands go from the DCC Access Control Broker (90-B3-D5-1F-30-00-00-02) with the user as the
supplementary remote party and the user's RequestID counter as its counter (the URP pattern).
The MAC key comes from the ACB's KA private key and the target's KA public key (SMKI). A
handler builds the use case's payload and hands it to :func:`command`.
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


def transaction_id(request_counter: int) -> int:
    """The GBCS counter of a request: its RequestID counter, kept in range (62 bits)."""
    return request_counter & ((1 << 62) - 1)


def command(
    keys: DspGbcsKeys,
    payload: gbcs.Payload,
    *,
    target: EUI64,
    user: EUI64,
    counter: int,
    when: datetime | None = None,
    message_code: int | None = None,
) -> bytes:
    """``payload`` as a command from the ACB to ``target`` for ``user`` under its RequestID
    ``counter``, MAC'd; ``when`` goes in the header date-time; ``message_code`` only for a
    payload that serves several use cases (a join: CS03A2, an unjoin: CS04AC)."""
    c = transaction_id(counter)
    msg = gbcs.command(
        payload,
        target,
        c,
        remote_party=user,
        remote_party_counter=c,
        when=when,
        message_code=message_code,
    )
    return gbcs.seal(msg, ka_private=keys.acb_ka_private, ka_public=keys.ka_of(target))
