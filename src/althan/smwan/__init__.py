"""The SM WAN gateway interface: the only messages the DSP and the simulated network exchange.

`dsp` never imports `csp` or `han`, nor they `dsp`: they meet here (DESIGN §4).
"""

from althan.smwan.effects import Effect, Send, Timer
from althan.smwan.messages import (
    CSPFirmwareDeliveryStatus,
    DeliveryOutcome,
    FirmwareDistribution,
    FirmwareTarget,
    GbcsAlert,
    GbcsCommand,
    GbcsResponse,
    HanJoinNotice,
    SmwanMessage,
)

__all__ = [
    "CSPFirmwareDeliveryStatus",
    "DeliveryOutcome",
    "Effect",
    "FirmwareDistribution",
    "FirmwareTarget",
    "GbcsAlert",
    "GbcsCommand",
    "GbcsResponse",
    "HanJoinNotice",
    "Send",
    "SmwanMessage",
    "Timer",
]
