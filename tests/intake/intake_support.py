"""The rolled-out sim world the intake tests submit against (its fixture: conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from althan.han.topology import Bridge, Home
from althan.model import EUI64
from althan.runtime.scenario import Scenario

NEW = 0x00020000
FOREIGN = EUI64.parse("00-DB-12-34-56-78-F0-01")
"""A PPMID the other user (not the test supplier) is responsible for."""


@dataclass
class Served:
    w: Scenario
    url: str
    data: Path
    updated: list[Bridge]  # the bridges whose 11.4 ran (all activated)
    left: list[Bridge]  # the bridges no 11.4 named

    @property
    def bridges(self) -> list[tuple[Home, Bridge]]:
        return list(self.w.fleet.bridges())
