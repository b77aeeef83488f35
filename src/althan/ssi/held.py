"""Page actions: the anomaly-detection quarantine, for DCC operators. The operations page
lists the held requests (`queue`); an operator releases one (processed now, once, through the
gateway steps, its answer sent to its user) or rejects it (never processed; its user answered
E48), exactly as `althan ad release` / `ad reject` do, at the DSP's time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from starlette.responses import Response

from althan.dsp import quarantine
from althan.dsp.quarantine import Quarantined, QuarantineError, Status
from althan.ssi.web import PageRequest

RECENT = 20
"""How many decided requests the page shows below the queue."""


@dataclass(frozen=True, slots=True)
class Queue:
    held: list[Quarantined]
    decided: list[Quarantined]


def queue(conn: Connection) -> Queue:
    return Queue(quarantine.entries(conn, Status.QUARANTINED), quarantine.decided(conn, RECENT))


_NOTICES = {"released": "released", "rejected": "rejected"}


def notice(text: str) -> str | None:
    """The message a redirect asked for (`kind:ref:code`): fixed texts, never echoed."""
    kind, _, rest = text.partition(":")
    ref, _, code = rest.partition(":")
    if kind in _NOTICES and ref.isdigit() and len(ref) < 12 and code.isalnum() and len(code) < 10:
        return f"Quarantined request {ref} {_NOTICES[kind]}: its user was answered {code}."
    return None


def _decide(pr: PageRequest, release: bool) -> Response:
    dsp = pr.portal.dsp
    if dsp is None:
        return pr.problem(
            404, "Not available", "This SSI is not attached to a DSP that can decide."
        )
    ref_text = pr.path_param("ref")
    if not ref_text.isdigit() or len(ref_text) > 12:
        return pr.problem(404, "No such request", "There is no quarantined request by that ref.")
    ref = int(ref_text)
    try:
        with pr.portal.engine.connect() as conn:
            quarantine.get(conn, ref)
    except QuarantineError:
        return pr.problem(404, "No such request", f"There is no quarantined request {ref}.")
    now = pr.portal.clock()
    try:
        d = dsp.release(ref, now) if release else dsp.reject(ref, now)
    except QuarantineError as exc:
        return pr.problem(409, "Already decided", f"{exc}. Nothing was done.")
    kind = "released" if release else "rejected"
    return pr.redirect(f"/ops?notice={kind}:{d.ref}:{d.code}#quarantine")


def release(pr: PageRequest) -> Response:
    return _decide(pr, True)


def reject(pr: PageRequest) -> Response:
    return _decide(pr, False)
