"""The SRV matrix: which user roles may send which Service Request Variant, and how.

Read from the DCC Boxed peer `@smartdcc/duis-parser` (dist/duis-request-matrix.json), the
same table DCC Boxed uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

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


class SrvMatrix(Mapping[str, SrvInfo]):
    """The SRV matrix, by Service Reference Variant; loaded once, when the DSP is assembled."""

    def __init__(self, rows: Mapping[str, SrvInfo]) -> None:
        self._rows = dict(rows)

    @classmethod
    def load(cls, path: Path | None = None) -> SrvMatrix:
        """Read `path` (default: duis-parser's dist/duis-request-matrix.json)."""
        p = path or peer_file("duis-parser", "dist", "duis-request-matrix.json")
        out: dict[str, SrvInfo] = {}
        for r in json.loads(p.read_text()):
            v = r["Service Reference Variant"].strip()
            out[v] = SrvInfo(
                variant=v,
                reference=r["Service Reference"].strip(),
                name=" ".join(r["Service Request Name"].split()),
                critical=r["Critical"].strip().lower() == "yes",
                non_device=r["Non-Device Request"].strip().lower() == "yes",
                roles=frozenset(UserRole(x) for x in r["Eligible User Roles"]),
            )
        return cls(out)

    def __getitem__(self, variant: str) -> SrvInfo:
        return self._rows[variant]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


SIGNED_PRE_COMMAND_CVS = frozenset({5, 6, 7})
"""Command variants of a critical request's Signed Pre-Command, which carries the RequestID of
the CV 4 Transform it came from."""

# Which DUIS web service (path suffix) carries which command variants.
SERVICE_FOR_CV: dict[int, str] = {1: "S", 3: "S", 5: "S", 7: "S", 2: "D", 6: "D", 8: "D", 4: "T"}
