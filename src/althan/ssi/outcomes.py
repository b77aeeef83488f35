"""Pages: suppliers keep AltHANCo up to date (business requirement 3). A supplier uploads the
outcome of its upgrades (CSV or JSON, the format of the intake API: `althan.dsp.intake`) and
sees its submissions; AltHANCo and the DCC see every submission, each reconciled against the
DSP's records with every difference flagged (a success the DSP never saw activate, a device
not that supplier's, a version not in the CPL). A refused upload stores nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from althan.dsp import intake
from althan.ssi.accounts import Role
from althan.ssi.web import PageRequest

_MEDIA = {".csv": intake.CSV, ".json": intake.JSON}
SHOWN = 100
"""The newest submissions the list shows (each reconciled when the page is drawn)."""


def _listing(pr: PageRequest, status: int = 200, **extra: Any) -> Response:
    who = pr.principal
    supplier = who.role is Role.SUPPLIER
    assert who.user is not None or not supplier, "a supplier account belongs to a DUIS user"
    with pr.portal.engine.connect() as conn:
        rows = []
        for sub in intake.submissions(conn, supplier=who.user if supplier else None, latest=SHOWN):
            rec = intake.reconcile(conn, sub.id)
            rows.append((sub, 0 if rec is None else len(rec.discrepancies)))
    return pr.render(
        "outcomes.html.j2",
        status=status,
        rows=rows,
        can_submit=who.role is Role.SUPPLIER,
        fields=",".join(intake.FIELDS),
        **extra,
    )


def outcomes_page(pr: PageRequest) -> Response:
    return _listing(pr)


def submit(pr: PageRequest) -> Response:
    who = pr.principal
    f = pr.files.get("outcomes")
    ref = pr.form.get("submission_ref", "")
    if f is None or not f.data:
        return _listing(pr, 400, error="Choose a CSV or JSON file of outcomes: nothing was sent.")
    media = next((m for ext, m in _MEDIA.items() if f.filename.lower().endswith(ext)), None)
    if media is None:
        return _listing(pr, 400, error="The file must be .csv or .json: nothing was stored.")
    assert who.user is not None, "a supplier account belongs to a DUIS user"
    try:
        rec = intake.keep(pr.portal.engine, who.user, ref, media, f.data, pr.portal.clock())
    except intake.SubmissionError as exc:
        return _listing(pr, 400, error=f"Refused: {exc}. Nothing was stored.")
    return pr.redirect(f"/outcomes/{rec.submission.id}")


def submission_page(pr: PageRequest) -> Response:
    who = pr.principal
    with pr.portal.engine.connect() as conn:
        rec = intake.reconcile(conn, int(pr.path_param("submission")))
    if rec is None or (who.role is Role.SUPPLIER and rec.submission.supplier != who.user):
        return pr.problem(
            404, "No such submission", "There is no submission of yours by that number."
        )
    # a device the SMI does not know, or another supplier's, has no page its reader may open
    unlinked = (intake.UNKNOWN_DEVICE, intake.NOT_SUPPLIERS_DEVICE)
    return pr.render("outcome.html.j2", rec=rec, unlinked=unlinked)
