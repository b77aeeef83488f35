"""Running a campaign: send each wave's 11.4, watch its outcomes, decide, go on or pause.

`CampaignRunner.step()` is one look at the campaign's store and one decision; `run()` repeats
it until the campaign ends (completed, cancelled) or waits on its user (paused). The rules:

* a send recorded as *prepared* (about to be sent, its signed XML kept) and not answered — the
  run before was killed, or the DCC did not answer — is POSTed again, byte for byte, before
  anything else: a DSP that had it answers ``E12`` and changes nothing, and the wave's devices
  are then in flight as before; one that had not accepts it now. So no wave goes twice;
* an unreachable DCC is retried (``retries`` times, back-off doubling), then `Unreachable`
  says so; the send stays prepared, so the next run sends it (nothing is lost);
* a wave is judged once ``min(min_sample, its size)`` of its devices have an outcome: its
  failure rate (failed / outcomes, in %) under ``max_failure`` passes it, and the next wave
  may start (within the sending window, if any); a rate at or over it pauses the campaign
  before the next wave once it is certain — once the failures alone are ``max_failure`` % of
  the wave, or every device has its outcome (a warning list's failures come at once, the
  activations later, so an early rate is waited on rather than believed). A wave every
  device of which is ``NotApplicableFirmwareDeviceIDList`` means the DCC's CPL does not
  know the image: the campaign pauses and says so, and so it does when the DCC refuses a
  wave's 11.4 whole (e.g. ``E110401``);
* cancelled: no further waves; it ends once nothing is in flight. Completed: every wave sent,
  nothing in flight; the outcomes then go to AltHANCo's intake when configured.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from althan.duis.service_requests import SignedRequest
from althan.duis.xmldsig import TrustStore
from althan.model import EUI64
from althan.supplier.campaign_events import (
    ACTIVATION_FAILED,
    CH_DELIVERY_FAILED,
    DUPLICATE,
    TIMEOUT,
    TRANSFER_FAILED,
    NotBelieved,
    read_answer,
)
from althan.supplier.campaign_plan import Window, chunks
from althan.supplier.campaign_store import CampaignStore
from althan.supplier.campaign_tables import (
    ACTIVATED,
    ACTIVE_STATES,
    CANCELLED,
    COMPLETED,
    CREATED,
    FAILED,
    HELD,
    PAUSED,
    RUNNING,
    W_HALTED,
    W_PASSED,
    W_PENDING,
    W_RESUMED,
    W_SENDING,
    W_SENT,
    W_SKIPPED,
    CampaignRow,
    SendRow,
)
from althan.supplier.client import SyncAnswer
from althan.supplier.intake import IntakeAnswer

__all__ = ["CampaignError", "CampaignRunner", "Finished", "Unreachable"]

Post = Callable[[SignedRequest], SyncAnswer]
Build = Callable[[int, list[EUI64]], SignedRequest]
Submit = Callable[[bytes, str], IntakeAnswer]
NOT_APPLICABLE = "NotApplicableFirmwareDeviceIDList"
ATTEMPTED_FAILURES = frozenset({TIMEOUT, CH_DELIVERY_FAILED, TRANSFER_FAILED, ACTIVATION_FAILED})
"""Failures of a delivery the DSP made (what AltHANCo's intake hears of); a device listed in
an 11.4's warning lists was never sent the image."""


class CampaignError(Exception):
    """The campaign cannot go on as asked (the message says why and what to do)."""


class Unreachable(CampaignError):
    """The DCC did not answer; nothing was lost."""


@dataclass(frozen=True, slots=True)
class Finished:
    state: str
    message: str


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True, eq=False)
class CampaignRunner:
    store: CampaignStore
    name: str
    _: KW_ONLY
    post: Post
    build: Build
    trust: TrustStore
    user: EUI64
    submit: Submit | None = None
    retries: int = 5
    backoff: float = 0.5
    poll: float = 0.2
    now: Callable[[], datetime] = _now
    sleep: Callable[[float], None] = time.sleep
    waiting: str = field(default="", init=False)
    """Why nothing is being sent now (for the progress display)."""

    # ------------------------------------------------------------------ the loop

    def run(self, tick: Callable[[], None] = lambda: None) -> Finished:
        while True:
            done = self.step()
            tick()
            if done is not None:
                return done
            self.sleep(self.poll)

    def _campaign(self) -> CampaignRow:
        c = self.store.campaign(self.name)
        if c is None:
            raise CampaignError(f"no campaign {self.name!r} in {self.store.path}")
        return c

    def step(self) -> Finished | None:
        c = self._campaign()
        if c.state == COMPLETED:
            return self._finish_completed(c)
        for s in self.store.sends(self.name, state="prepared"):
            self._send(s)
        c = self._campaign()
        if c.state == CREATED:
            self.store.set_state(self.name, RUNNING, "", self.now(), only_from=[CREATED])
            c = self._campaign()
        latest = self.store.latest(self.name)
        in_flight = sum(1 for s, _r, _w in latest.values() if s in ACTIVE_STATES)
        waves = self.store.waves(self.name)
        if c.state == CANCELLED:
            for w in waves:
                if w.state == W_PENDING:
                    self.store.set_wave(self.name, w.wave, W_SKIPPED, "cancelled")
            self.waiting = f"cancelled: {in_flight} in flight"
            if in_flight == 0:
                return Finished(CANCELLED, c.reason or "cancelled")
            return None
        self._judge(c)
        c = self._campaign()
        if c.state == PAUSED:
            self.waiting = f"paused: {c.reason}"
            if in_flight == 0:
                return Finished(PAUSED, c.reason)
            return None
        waves = self.store.waves(self.name)
        for i, w in enumerate(waves):
            if w.state != W_PENDING:
                continue
            before = waves[i - 1].state if i else W_PASSED
            if before not in (W_PASSED, W_RESUMED, W_HALTED, W_SKIPPED):
                self.waiting = f"wave {w.wave} waits for wave {waves[i - 1].wave}'s outcomes"
                return None
            window = c.plan.get("window")
            if window and not Window.parse(window).open_at(self.now()):
                self.waiting = f"wave {w.wave} waits for the window {window} (UTC)"
                return None
            self._send_wave(c, w.wave)
            return None
        if any(w.state in (W_SENDING, W_SENT) for w in waves) or in_flight:
            self.waiting = f"{in_flight} in flight"
            return None
        self.store.set_state(self.name, COMPLETED, "", self.now(), only_from=[RUNNING])
        return self._finish_completed(self._campaign())

    # ------------------------------------------------------------------ sending

    def _send_wave(self, c: CampaignRow, wave: int) -> None:
        devices = self.store.wave_devices(self.name, wave)
        for n, part in enumerate(chunks(devices), start=1):
            floor = int(self.now().timestamp() * 1_000_000)
            counter = self.store.next_counter(self.user, floor)
            req = self.build(counter, part)
            self.store.prepare_send(
                self.name, wave, n, req.request_id, req.service, req.xml, part, self.now()
            )
        for s in self.store.sends(self.name, state="prepared"):
            self._send(s)

    def _send(self, s: SendRow) -> None:
        assert s.xml is not None
        req = SignedRequest(s.request_id, s.service, s.xml)
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                answer = self.post(req)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if answer.http_status >= 500:
                last = f"HTTP {answer.http_status}"
                continue
            break
        else:
            raise Unreachable(
                f"the DCC did not answer wave {s.wave}'s 11.4 (RequestID {s.request_id}) "
                f"after {self.retries + 1} attempts ({last}). Nothing is lost: it is recorded "
                "as about to be sent, and `althan campaign run` sends it again (a DCC that "
                f"had it answers {DUPLICATE} and changes nothing)"
            )
        try:
            got = read_answer(answer.http_status, answer.body, self.trust)
        except NotBelieved as exc:
            raise CampaignError(
                f"the DCC's answer to wave {s.wave}'s 11.4 (RequestID {s.request_id}) is not "
                f"believed ({exc}); it stays about to be sent"
            ) from None
        detail = ""
        if got.code == HELD:
            detail = (
                f"{HELD}: held by the DCC's anomaly detection (N48); its answer comes to the "
                "endpoint when it is released (I0 / W110401) or refused (E48)"
            )
        if got.code == DUPLICATE:
            detail = (
                f"{DUPLICATE}: the DCC had this request before (a run was killed before it "
                "recorded the answer); its devices are in flight as before, and any warning "
                "lists of the first answer were not recorded"
            )
        self.store.record_answer(
            s.request_id, got.code, got.warned, refused=got.refused, detail=detail, now=self.now()
        )

    # ------------------------------------------------------------------ judging waves

    def _judge(self, c: CampaignRow) -> None:
        max_failure = float(c.plan["max_failure"])
        min_sample = int(c.plan["min_sample"])
        waves = self.store.waves(self.name)
        states: dict[int, Counter[str]] = {}
        reasons: dict[int, Counter[str]] = {}
        for wave, _eui, state, reason, _rid in self.store.attempts(self.name):
            states.setdefault(wave, Counter())[state] += 1
            if state == FAILED:
                reasons.setdefault(wave, Counter())[reason] += 1
        for i, w in enumerate(waves):
            if w.state != W_SENT:
                continue
            has_next = any(x.state == W_PENDING for x in waves[i + 1 :])
            counts = states.get(w.wave, Counter())
            why = reasons.get(w.wave, Counter())
            done = counts[ACTIVATED] + counts[FAILED]
            if done < min(min_sample, w.size):
                continue
            failed = counts[FAILED]
            rate = 100.0 * failed / done
            top = ", ".join(f"{r} {n}" for r, n in why.most_common(3))
            verdict = f"{rate:.1f}% of {done} outcomes failed (max {max_failure:g}%)"
            if failed == w.size and set(why) == {NOT_APPLICABLE}:
                self._halt(
                    w.wave,
                    verdict,
                    f"wave {w.wave}: the DCC's CPL does not know this image for any of its "
                    f"{w.size} devices (all {NOT_APPLICABLE}): AltHANCo must assure it "
                    "(`althan cpl add`) before the campaign can go on; then `althan campaign "
                    "resume` and `retry-failed`",
                )
            elif failed == w.size and all(r.startswith("refused") for r in why):
                self._halt(w.wave, verdict, f"wave {w.wave}: the DCC refused its 11.4 ({top})")
            elif rate < max_failure:
                self.store.set_wave(self.name, w.wave, W_PASSED, verdict)
            elif 100.0 * failed / w.size < max_failure and done < w.size:
                continue  # over the threshold so far, not yet for certain: more outcomes
            elif has_next:
                self._halt(w.wave, verdict, f"wave {w.wave}: {verdict}: {top}")
            else:
                self.store.set_wave(self.name, w.wave, W_HALTED, verdict)

    def _halt(self, wave: int, verdict: str, reason: str) -> None:
        self.store.set_wave(self.name, wave, W_HALTED, verdict)
        self.store.set_state(self.name, PAUSED, reason, self.now(), only_from=[RUNNING])

    # ------------------------------------------------------------------ the end

    def _finish_completed(self, c: CampaignRow) -> Finished:
        counts = Counter(s for s, _r, _w in self.store.latest(self.name).values())
        message = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if c.plan.get("intake") and self.submit is not None:
            message += "; " + self._submit_outcomes(c)
        return Finished(COMPLETED, message)

    def intake_body(self, c: CampaignRow) -> bytes:
        """The campaign's outcomes as AltHANCo's intake takes them (JSON)."""
        outcomes: list[dict[str, str]] = []
        at: dict[str, str] = {}
        for _wave, eui, state, reason, rid in self.store.attempts(self.name):
            if rid is None:
                continue
            if state == ACTIVATED or (state == FAILED and reason in ATTEMPTED_FAILURES):
                at[eui] = "success" if state == ACTIVATED else "failure"
            else:
                at.pop(eui, None)
        times = self.store.updated_at(self.name)
        for eui, outcome in sorted(at.items()):
            outcomes.append(
                {"device": eui, "version": c.plan["version"], "outcome": outcome,
                 "time": times[eui]}
            )  # fmt: skip
        return json.dumps({"outcomes": outcomes}, sort_keys=True).encode()

    def _submit_outcomes(self, c: CampaignRow) -> str:
        assert self.submit is not None
        if c.intake is not None and c.intake.get("status", 0) < 300:
            return f"outcomes submitted to AltHANCo's intake ({c.intake.get('submission')})"
        submission = f"campaign:{self.name}:{len(self.store.waves(self.name))}"
        body = self.intake_body(c)
        if body == b'{"outcomes": []}':
            return "no delivery outcome to submit to AltHANCo's intake"
        try:
            answer = self.submit(body, submission)
        except httpx.HTTPError as exc:
            self.store.set_intake(self.name, {"status": 0, "error": str(exc)})
            return f"AltHANCo's intake did not answer ({exc}): `campaign run` tries again"
        record: dict[str, Any] = {
            "status": answer.status,
            "submission": submission,
            "answer": answer.body,
        }
        self.store.set_intake(self.name, record)
        if answer.status >= 300:
            return f"AltHANCo's intake refused the outcomes: HTTP {answer.status} {answer.body}"
        return f"outcomes submitted to AltHANCo's intake ({submission})"
