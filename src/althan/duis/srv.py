"""The SRV matrix: which user roles may send which Service Request Variant, and how.

Read from the DCC Boxed peer `@smartdcc/duis-parser` (dist/duis-request-matrix.json), the
same table DCC Boxed uses. Its "Service Reference" column went through a spreadsheet that
read references as numbers: "6.20" is written "6.2" (the rows of 6.20.1 and 6.20.2). The
Service Reference is by definition the first two numbers of the variant, so it is taken from
the variant; the column is only checked against it, and a disagreement other than that lost
trailing zero makes the matrix unreadable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

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


class MatrixError(ValueError):
    """The SRV matrix says something about a Service Reference that cannot be right."""


def service_reference_of(variant: str) -> str:
    """The Service Reference of a Service Reference Variant: "6.20.1" -> "6.20", "8.2" -> "8.2"."""
    return ".".join(variant.split(".")[:2])


def _same_number(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:
        return False


def read_matrix(rows: Iterable[Mapping[str, Any]]) -> dict[str, SrvInfo]:
    """The matrix rows (duis-request-matrix.json) by Service Reference Variant."""
    out: dict[str, SrvInfo] = {}
    for r in rows:
        v = r["Service Reference Variant"].strip()
        ref = service_reference_of(v)
        listed = r["Service Reference"].strip()
        # "6.2" for "6.20" is the spreadsheet's number reading; anything else is a wrong row
        if listed != ref and not _same_number(listed, ref):
            raise MatrixError(f"SRV {v} is listed under Service Reference {listed}, not {ref}")
        out[v] = SrvInfo(
            variant=v,
            reference=ref,
            name=" ".join(r["Service Request Name"].split()),
            critical=r["Critical"].strip().lower() == "yes",
            non_device=r["Non-Device Request"].strip().lower() == "yes",
            roles=frozenset(UserRole(x) for x in r["Eligible User Roles"]),
        )
    return out


class SrvMatrix(Mapping[str, SrvInfo]):
    """The SRV matrix, by Service Reference Variant; loaded once, when the DSP is assembled."""

    def __init__(self, rows: Mapping[str, SrvInfo]) -> None:
        self._rows = dict(rows)

    @classmethod
    def load(cls, path: Path | None = None) -> SrvMatrix:
        """Read `path` (default: duis-parser's dist/duis-request-matrix.json)."""
        p = path or peer_file("duis-parser", "dist", "duis-request-matrix.json")
        return cls(read_matrix(json.loads(p.read_text())))

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
