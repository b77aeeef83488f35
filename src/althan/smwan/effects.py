"""What a sans-IO component asks its runtime to do.

A component never reads a clock, sleeps or touches another component: it is handed a message
(or a timer it asked for) and the current time, and returns a list of effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Send:
    """Deliver `msg` to the component at `to`, `delay` seconds from now (plus link latency)."""

    to: str
    msg: object
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Timer:
    """Call the same component's `on_timer(token, now)` `delay` seconds from now."""

    delay: float
    token: object


Effect = Send | Timer


class Component(Protocol):
    """A sans-IO participant of the simulated world."""

    @property
    def address(self) -> str: ...

    def on_message(self, msg: object, now: float) -> Sequence[Effect]: ...

    def on_timer(self, token: object, now: float) -> Sequence[Effect]: ...
