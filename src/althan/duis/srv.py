"""The SRV matrix: which user roles may send which Service Request Variant, and how.

Read from the DCC Boxed peer `@smartdcc/duis-parser` (dist/duis-request-matrix.json), the
same table DCC Boxed uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from althan.duis.peers import peer_file
from althan.model import UserRole


@dataclass(frozen=True, slots=True)
class SrvInfo:
    variant: str  # "11.4", "8.7.2"
    reference: str  # "11.4", "8.7"
    name: str
    critical: bool
    non_device: bool
    roles: frozenset[UserRole]

    def allowed_command_variants(self) -> frozenset[int]:
        """DUIS command variants a request for this SRV may carry."""
        if self.non_device:
            return frozenset({8})
        if self.critical:
            return frozenset({4, 5, 6, 7})
        return frozenset({1, 2, 3})


@cache
def srv_matrix() -> dict[str, SrvInfo]:
    rows = json.loads(peer_file("duis-parser", "dist", "duis-request-matrix.json").read_text())
    out: dict[str, SrvInfo] = {}
    for r in rows:
        v = r["Service Reference Variant"].strip()
        out[v] = SrvInfo(
            variant=v,
            reference=r["Service Reference"].strip(),
            name=" ".join(r["Service Request Name"].split()),
            critical=r["Critical"].strip().lower() == "yes",
            non_device=r["Non-Device Request"].strip().lower() == "yes",
            roles=frozenset(UserRole(x) for x in r["Eligible User Roles"]),
        )
    return out


# Which DUIS web service (path suffix) carries which command variants.
SERVICE_FOR_CV: dict[int, str] = {1: "S", 3: "S", 5: "S", 7: "S", 2: "D", 6: "D", 8: "D", 4: "T"}
