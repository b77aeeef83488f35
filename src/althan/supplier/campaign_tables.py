"""The tables and rows of a supplier's campaign store (`campaign_store`), and the states a
campaign, a wave and a device's attempt go through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, Text

from althan.model import EUI64

# campaign states
CREATED, RUNNING, PAUSED, CANCELLED, COMPLETED = (
    "created",
    "running",
    "paused",
    "cancelled",
    "completed",
)
# device states (of an attempt)
PENDING, ACCEPTED, DELIVERED, TRANSFERRED, ACTIVATED, FAILED = (
    "pending",
    "accepted",
    "delivered",
    "transferred",
    "activated",
    "failed",
)
DEVICE_STATES: Final = (PENDING, ACCEPTED, DELIVERED, TRANSFERRED, ACTIVATED, FAILED)
ACTIVE_STATES: Final = frozenset({ACCEPTED, DELIVERED, TRANSFERRED})
"""In flight: the DSP has the device's delivery and has not ended it."""
RANK: Final = {PENDING: 0, ACCEPTED: 1, DELIVERED: 2, TRANSFERRED: 3, ACTIVATED: 4, FAILED: 4}
# wave states
W_PENDING, W_SENDING, W_SENT, W_PASSED, W_HALTED, W_RESUMED, W_SKIPPED = (
    "pending",
    "sending",
    "sent",
    "passed",
    "over-threshold",
    "resumed",
    "skipped",
)


def _at(name: str, *, nullable: bool = False) -> Column[str]:
    """A time, as the text `iso` writes."""
    return Column(name, String, nullable=nullable)


def _state() -> Column[str]:
    """One of the states above."""
    return Column("state", String, nullable=False)


def _reason() -> Column[str]:
    """Why the row is in its state (a pause, a failure; "" for none)."""
    return Column("reason", Text, nullable=False)


def _wave_key() -> list[Column[Any]]:
    """The key of a wave, and the first part of the key of each attempt in it."""
    return [Column("campaign", String, primary_key=True), Column("wave", Integer, primary_key=True)]


md = MetaData()
campaigns = Table(
    "campaigns",
    md,
    Column("name", String, primary_key=True),
    Column("plan", Text, nullable=False),
    Column("image", LargeBinary, nullable=False),
    _state(),
    _reason(),
    _at("created_at"),
    _at("ended_at", nullable=True),
    Column("intake", Text),
)
waves = Table(
    "waves",
    md,
    *_wave_key(),
    Column("kind", String, nullable=False),
    _state(),
    Column("size", Integer, nullable=False),
    Column("decision", Text, nullable=False),
)
attempts = Table(
    "attempts",
    md,
    *_wave_key(),
    Column("eui", String, primary_key=True, index=True),
    Column("pos", Integer, nullable=False),
    Column("request_id", String, index=True),
    _state(),
    _reason(),
    _at("updated_at"),
)
sends = Table(
    "sends",
    md,
    Column("request_id", String, primary_key=True),
    Column("campaign", String, nullable=False, index=True),
    Column("wave", Integer, nullable=False),
    Column("chunk", Integer, nullable=False),
    Column("service", String, nullable=False),
    _state(),
    Column("xml", LargeBinary),
    Column("code", String),
    Column("detail", Text, nullable=False),
    _at("prepared_at"),
    _at("answered_at", nullable=True),
)
documents = Table(
    "documents",
    md,
    Column("sha256", String, primary_key=True),
    _at("received_at"),
    Column("code", String, nullable=False),
    Column("applied", Integer, nullable=False),
)
counters = Table(
    "counters",
    md,
    Column("user", String, primary_key=True),
    Column("last", BigInteger, nullable=False),
)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """What one document says of one device: the state it moves to (and why it failed)."""

    code: str  # N55, N56, N39, N57
    device: EUI64
    request_id: str | None
    state: str
    reason: str = ""
    version: str | None = None


HELD: Final = "I99"
"""The DCC's acknowledgement of an 11.4 its anomaly detection holds: the answer comes later,
to the endpoint, as a Response with the RequestID (released: I0 / W110401; refused: E48)."""


@dataclass(frozen=True, slots=True)
class LateAnswer:
    """The answer to a held send, as it came to the endpoint."""

    request_id: str
    code: str
    warned: dict[EUI64, str]
    refused: bool


@dataclass(frozen=True, slots=True)
class CampaignRow:
    name: str
    plan: dict[str, Any]
    image: bytes
    state: str
    reason: str
    created_at: str
    ended_at: str | None
    intake: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class WaveRow:
    wave: int
    kind: str
    state: str
    size: int
    decision: str


@dataclass(frozen=True, slots=True)
class SendRow:
    request_id: str
    wave: int
    chunk: int
    service: str
    state: str
    xml: bytes | None
    code: str | None
    detail: str
