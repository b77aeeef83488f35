"""Commands waiting at a Comms Hub for a device that is cut off.

A command for a device that is rebooting, or behind a bridge that is, waits as a
:class:`althan.han.events.PendingCommand` record (data, not a closure) until the device is
reachable again; then the hub outputs :class:`althan.han.events.CommandDue`.
"""

from __future__ import annotations

from althan.han.device import Device
from althan.han.events import PendingCommand

__all__ = ["CommandQueue"]


class CommandQueue:
    """Commands waiting for their device, in arrival order."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: list[tuple[Device, PendingCommand]] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, device: Device, command: PendingCommand) -> None:
        self._waiting.append((device, command))

    def take_ready(self) -> list[tuple[Device, PendingCommand]]:
        """The waiting commands whose device is reachable now, in order (they leave the queue)."""
        if not self._waiting:
            return []
        ready = [w for w in self._waiting if w[0].reachable]
        if ready:
            self._waiting = [w for w in self._waiting if not w[0].reachable]
        return ready
