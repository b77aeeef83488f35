"""One HAN device: the real ZigBee OTA client, plus its power (activation and reboot) states.

Its firmware lifecycle is the :class:`althan.zigbee.client.OtaClient` it runs (idle,
querying, downloading, verifying, waiting to activate, activating); its power lifecycle is the
explicit table :data:`TRANSITIONS` below, in the style of h11's ``_state.py``: one entry per
legal (state, event), anything else raises :class:`DeviceStateError`.

Activating a new image and a power cycle both reboot the device; after the reboot it rejoins,
but only once every bridge on its path to the Comms Hub is up (a remote bridge's traffic goes
through B1). While it is down, or any bridge on its path is, it is cut off: not reachable.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from althan.han.config import HanTiming
from althan.han.image import HubImage
from althan.han.topology import Bridge, HanDevice
from althan.model import EUI64, AltHANVariant
from althan.zigbee.client import ClientState, OtaClient

__all__ = ["TRANSITIONS", "Device", "DeviceStateError", "Power", "PowerEvent"]


class Power(enum.Enum):
    UP = "up"
    REBOOTING = "rebooting"
    WAITING_UPSTREAM = "waiting-upstream"  # rebooted; a bridge on its path is still down
    REJOINING = "rejoining"


class PowerEvent(enum.Enum):
    ACTIVATE = "activate"  # the OTA client activates its new image: reboot into it
    POWER_CYCLE = "power-cycle"  # a fault
    REBOOTED = "rebooted"  # reboot over, path to the Comms Hub up
    REBOOTED_CUT_OFF = "rebooted-cut-off"  # reboot over, a bridge upstream still down
    UPSTREAM_BACK = "upstream-back"  # the bridges upstream are up again
    REJOINED = "rejoined"


TRANSITIONS: Mapping[tuple[Power, PowerEvent], Power] = {
    (Power.UP, PowerEvent.ACTIVATE): Power.REBOOTING,
    (Power.UP, PowerEvent.POWER_CYCLE): Power.REBOOTING,
    (Power.REBOOTING, PowerEvent.REBOOTED): Power.REJOINING,
    (Power.REBOOTING, PowerEvent.REBOOTED_CUT_OFF): Power.WAITING_UPSTREAM,
    (Power.WAITING_UPSTREAM, PowerEvent.UPSTREAM_BACK): Power.REJOINING,
    (Power.REJOINING, PowerEvent.REJOINED): Power.UP,
    # a device that is already down: a power cycle changes nothing
    (Power.REBOOTING, PowerEvent.POWER_CYCLE): Power.REBOOTING,
    (Power.WAITING_UPSTREAM, PowerEvent.POWER_CYCLE): Power.WAITING_UPSTREAM,
    (Power.REJOINING, PowerEvent.POWER_CYCLE): Power.REJOINING,
}


class DeviceStateError(RuntimeError):
    """An event the device's power state machine does not allow in its state."""


class Device:
    """One HAN device behind a Comms Hub (a bridge, or a meter / IHD / PPMID)."""

    __slots__ = (
        "_credentials",
        "activations",
        "client",
        "completed_at",
        "downstream",
        "gen",
        "image",
        "index",
        "interval",
        "joined",
        "path",
        "power",
        "running",
        "seg_start",
        "spec",
        "stalls",
    )

    def __init__(
        self,
        spec: Bridge | HanDevice,
        index: int,
        timing: HanTiming,
        firmware_version: int | None = None,
    ) -> None:
        """`firmware_version`: what it runs, when not its factory firmware (`spec`)."""
        self.spec = spec
        self.index = index
        self.client = OtaClient(
            manufacturer_code=spec.manufacturer_code,
            image_type=spec.image_type,
            file_version=spec.firmware_version if firmware_version is None else firmware_version,
            hardware_version=spec.hardware_version,
            max_data_size=timing.block_size,
        )
        self.power = Power.UP
        self.path: tuple[Device, ...] = ()  # the bridges between it and the CH, CH side first
        self.downstream: list[Device] = []  # devices whose path ends with this one
        self.joined = True
        self.image: HubImage | None = None  # what it downloads (or waits to activate)
        # aggregate block transfer (althan.han.transfer)
        self.running = False  # blocks are moving to it now
        self.seg_start = 0.0
        self.interval = 0.0
        self.gen = 0  # moves on whenever its pending DownloadDone timer is void
        self.stalls = 0
        self.completed_at: float | None = None
        self.activations: list[int] = []  # the file version of each image it activated
        self._credentials: dict[str, bytes] | None = None

    def fire(self, event: PowerEvent) -> Power:
        """Apply `event` to the power state (see :data:`TRANSITIONS`); the new state."""
        try:
            self.power = TRANSITIONS[self.power, event]
        except KeyError:
            raise DeviceStateError(
                f"device {self.eui}: {event.value} not allowed when {self.power.value}"
            ) from None
        return self.power

    @property
    def eui(self) -> EUI64:
        return self.spec.eui

    @property
    def variant(self) -> AltHANVariant | None:
        return self.spec.variant

    @property
    def version(self) -> int:
        """The firmware version it runs."""
        return self.client.file_version

    @property
    def up(self) -> bool:
        return self.power is Power.UP

    @property
    def reachable(self) -> bool:
        return self.power is Power.UP and all(p.power is Power.UP for p in self.path)

    @property
    def upstream_up(self) -> bool:
        return all(p.power is Power.UP for p in self.path)

    @property
    def idle(self) -> bool:
        return self.client.state is ClientState.IDLE

    @property
    def downloading(self) -> bool:
        """Powered and in the middle of a download (moving blocks or stalled)."""
        return self.power is Power.UP and self.client.state is ClientState.DOWNLOADING

    @property
    def waiting_to_activate(self) -> bool:
        """Powered, with a verified image held until the CH releases its activation."""
        return self.power is Power.UP and self.client.state is ClientState.WAITING_TO_ACTIVATE

    @property
    def state(self) -> ClientState | Power:
        """What it is doing: its OTA client's state while powered, else its power state."""
        return self.client.state if self.power is Power.UP else self.power

    @property
    def credentials(self) -> dict[str, bytes]:
        """Security credentials set by critical commands: "device-cert" (CS02d, DER); a remote
        party's replaced trust anchors (CS02b) under "ds:<EUI>" / "ka:<EUI>" (public key DER)
        and "ds-cert:<EUI>" / "ka-cert:<EUI>" (certificate DER). Made on first use."""
        if self._credentials is None:
            self._credentials = {}
        return self._credentials
