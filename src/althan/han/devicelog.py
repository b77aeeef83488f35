"""The CHF device log (whitelist) of one Comms Hub, and which devices may join the HAN."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from althan.han.device import Device
from althan.han.topology import Home
from althan.model import EUI64

__all__ = ["MAX_TYPE1_DEVICES", "DeviceLog"]

MAX_TYPE1_DEVICES = 6


class DeviceLog:
    """The CHF device log: each entry says whether the device is Type 1 (PPMID or HCALCS, of
    which a Comms Hub holds at most six)."""

    __slots__ = ("_entries", "_type1")

    def __init__(
        self,
        home: Home,
        devices: Iterable[Device],
        *,
        preloaded: bool,
        not_logged: Collection[EUI64] = (),
    ) -> None:
        """`preloaded`: the home's Type 1 devices are in the log already (installed), except
        those in `not_logged` (physically there, not whitelisted yet)."""
        self._type1 = frozenset(d.eui for d in home.type1())
        self._entries: dict[EUI64, bool] = {}
        for d in devices:
            t1 = d.eui in self._type1
            if (preloaded and d.eui not in not_logged) or not t1:
                self._entries[d.eui] = t1
            else:
                d.joined = False  # a Type 1 device joins once CCS01 whitelists it

    def __contains__(self, device: EUI64) -> bool:
        return device in self._entries

    def type1_count(self) -> int:
        return sum(1 for t1 in self._entries.values() if t1)

    def add(self, device: EUI64, known: bool) -> bool:
        """CCS01: add `device`; False when a 7th Type 1 device is refused.

        A device the hub does not physically know (`known` False: not a meter or IHD of this
        home) counts as Type 1: this path only whitelists PPMIDs and Alt HAN bridges.
        """
        if device not in self._entries:
            is_type1 = device in self._type1 or not known
            if is_type1 and self.type1_count() >= MAX_TYPE1_DEVICES:
                return False
            self._entries[device] = is_type1
        return True

    def remove(self, device: EUI64) -> None:
        """CCS02: take `device` off the log (a device not in it: nothing to do)."""
        self._entries.pop(device, None)

    def join(self, d: Device) -> bool:
        """A whitelisted device in range joins: True when it did."""
        if d.eui in self._entries and d.reachable:
            d.joined = True
            return True
        return False
