"""Where the DSP and the CSPs are, for a runtime that connects them (the sim's addresses).

The DSP's outbox rows name a region and a user, never an address; a runtime maps them here.
"""

from __future__ import annotations

from althan.model import Region

DSP_ADDRESS = "dsp"
"""The DSP."""


def csp_address(region: Region) -> str:
    """The CSP of `region`: ``csp:North``, ``csp:Central``, ``csp:South``."""
    return f"csp:{region.value}"
