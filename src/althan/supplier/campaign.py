"""Rollout campaigns of a supplier (issue 15): staged 11.4s with failure thresholds, pause,
resume, cancel and retry, every device tracked to an end state. The supplier's side only: it
speaks DUIS over HTTP to a DCC (althan or DCC Boxed) and keeps its own store.

This module holds the operations on a stored campaign (`create`, `status`, `pause`,
`resume`, `cancel`, `retry_failed`); `campaign_run` sends and decides, `campaign_listen`
receives, `campaign_store` keeps, `campaign_plan` checks the plan, `campaign_events` reads
the DCC's documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from althan.model import EUI64
from althan.supplier.campaign_plan import PlanError, Window, parse_waves, read_image, wave_slices
from althan.supplier.campaign_store import CampaignStore
from althan.supplier.campaign_tables import (
    ACTIVATED,
    CANCELLED,
    COMPLETED,
    CREATED,
    DEVICE_STATES,
    FAILED,
    PAUSED,
    RUNNING,
    W_HALTED,
    W_RESUMED,
    CampaignRow,
)

__all__ = ["CampaignOpError", "cancel", "create", "pause", "resume", "retry_failed", "status"]


class CampaignOpError(ValueError):
    """The operation does not apply to the campaign in its state."""


def create(
    store: CampaignStore,
    name: str,
    *,
    dcc: str,
    image: bytes,
    image_name: str,
    devices: Sequence[EUI64],
    waves: str,
    max_failure: float,
    min_sample: int,
    listen: str,
    user: EUI64,
    window: str | None,
    key: str | None,
    cert: str | None,
    intake: bool,
    now: datetime,
    dcc_cert: str | None = None,
) -> dict[str, Any]:
    """Check the plan and store it (PlanError: nothing stored)."""
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise PlanError(f"campaign name {name!r}: a plain name, e.g. b1-2026-12")
    info = read_image(image, image_name)
    percents = parse_waves(waves)
    if not 0 <= max_failure <= 100:
        raise PlanError(f"--max-failure {max_failure:g}: a percentage, 0 to 100")
    if min_sample < 1:
        raise PlanError(f"--min-sample {min_sample}: at least 1")
    if window is not None:
        window = str(Window.parse(window))
    if not dcc.startswith(("http://", "https://")):
        raise PlanError(f"--dcc {dcc!r}: the DCC's base URL, e.g. http://127.0.0.1:8079")
    plan: dict[str, Any] = {
        "dcc": dcc.rstrip("/"),
        "image_name": image_name,
        "image_sha256": info.sha256,
        "manufacturer": info.manufacturer,
        "image_type": info.image_type,
        "version": info.version,
        "waves": list(percents),
        "max_failure": max_failure,
        "min_sample": min_sample,
        "listen": listen,
        "user": str(user),
        "window": window,
        "key": key,
        "cert": cert,
        "intake": intake,
        "dcc_cert": dcc_cert,
        "devices": len(devices),
    }
    slices = wave_slices(len(devices), percents)
    store.create(name, plan, image, devices, slices, now)
    return plan


def _campaign(store: CampaignStore, name: str) -> CampaignRow:
    c = store.campaign(name)
    if c is None:
        known = ", ".join(store.names()) or "none"
        raise CampaignOpError(f"no campaign {name!r} in {store.path} (campaigns: {known})")
    return c


def status(store: CampaignStore, name: str) -> dict[str, Any]:
    """What `campaign status --json` prints: `state`, `waves`, `counts` per device state,
    `failures` by reason, and each device's state."""
    c = _campaign(store, name)
    latest = store.latest(name)
    counts = Counter(s for s, _r, _w in latest.values())
    failures = Counter(r for s, r, _w in latest.values() if s == FAILED)
    per_wave = store.wave_counts(name)
    sends = store.sends(name)
    waves: list[dict[str, Any]] = []
    for w in store.waves(name):
        wc = per_wave.get(w.wave, Counter())
        done = wc[ACTIVATED] + wc[FAILED]
        waves.append(
            {
                "wave": w.wave,
                "kind": w.kind,
                "state": w.state,
                "devices": w.size,
                "counts": {s: wc[s] for s in DEVICE_STATES if wc[s]},
                "failure_rate": round(100.0 * wc[FAILED] / done, 2) if done else None,
                "decision": w.decision,
                "requests": [
                    {"request_id": s.request_id, "state": s.state, "code": s.code}
                    | ({"detail": s.detail} if s.detail else {})
                    for s in sends
                    if s.wave == w.wave
                ],
            }
        )
    return {
        "campaign": name,
        "state": c.state,
        "reason": c.reason,
        "image": {k: c.plan[k] for k in ("image_name", "version", "manufacturer", "image_type")},
        "dcc": c.plan["dcc"],
        "max_failure": c.plan["max_failure"],
        "min_sample": c.plan["min_sample"],
        "waves": waves,
        "counts": {s: counts[s] for s in DEVICE_STATES},
        "failures": dict(sorted(failures.items())),
        "devices": {eui: s if s != FAILED else f"{s}:{r}" for eui, (s, r, _w) in latest.items()},
        "intake": c.intake,
        "created_at": c.created_at,
        "ended_at": c.ended_at,
    }


def pause(store: CampaignStore, name: str, now: datetime) -> str:
    c = _campaign(store, name)
    if not store.set_state(name, PAUSED, "paused by its user", now, only_from=[CREATED, RUNNING]):
        raise CampaignOpError(f"campaign {name} is {c.state}: only a running one pauses")
    return "paused: no further wave is sent; what is in flight goes on"


def resume(store: CampaignStore, name: str, now: datetime) -> str:
    c = _campaign(store, name)
    if c.state != PAUSED:
        raise CampaignOpError(f"campaign {name} is {c.state}: only a paused one resumes")
    for w in store.waves(name):
        if w.state == W_HALTED:
            store.set_wave(name, w.wave, W_RESUMED, w.decision + "; resumed by its user")
    store.set_state(name, RUNNING, "", now, only_from=[PAUSED])
    return "resumed: `althan campaign run` sends the next wave"


def cancel(store: CampaignStore, name: str, now: datetime) -> str:
    c = _campaign(store, name)
    if c.state in (COMPLETED, CANCELLED):
        raise CampaignOpError(f"campaign {name} is {c.state} already")
    store.set_state(
        name, CANCELLED, "cancelled by its user", now, only_from=[CREATED, RUNNING, PAUSED]
    )
    return "cancelled: no further wave is sent; what is in flight finishes"


def retry_failed(
    store: CampaignStore, name: str, reasons: Iterable[str] | None, now: datetime
) -> int:
    """Queue a new wave of the failed devices (whose reason is one of `reasons`, if given);
    `campaign run` sends it. A failed device is one the DSP has released (its delivery ended,
    or it was never taken), so a new 11.4 may name it."""
    c = _campaign(store, name)
    if c.state == CANCELLED:
        raise CampaignOpError(f"campaign {name} is cancelled")
    n = store.queue_retry(name, reasons, now)
    if n and c.state == COMPLETED:
        store.set_state(name, RUNNING, "", now, only_from=[COMPLETED])
    return n
