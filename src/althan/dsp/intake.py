"""Suppliers keep AltHANCo up to date (business requirement 3): submissions of upgrade
outcomes, and their reconciliation against the DSP's records.

A supplier submits outcomes — device, firmware version, outcome (``success`` / ``failure``),
time — as JSON (``{"outcomes": [{"device", "version", "outcome", "time"}, …]}`` or the bare
list, optionally with ``"supplier"``: it must be the submitter) or CSV (header
``device,version,outcome,time``), authenticated as itself (`althan.runtime.intake_http`, or the
SSI's own sign-in). A submission is refused whole, with nothing stored, when it is malformed
(`SubmissionInvalid`: the line and what is wrong), names another supplier in its body, or names
no device of the submitter at all — a submission for another supplier's devices
(`SubmissionRefused`). Otherwise it is stored as given, under the supplier's own submission
ID (the same ID again with the same body is the same submission; with another body, a
`SubmissionConflict`).

AltHANCo's view reconciles a submission against the DSP's records when it is read (so a record
that arrives later, such as a late N39, clears a difference) and flags every difference, per
line: `UNKNOWN_DEVICE`, `NOT_SUPPLIERS_DEVICE`, `VERSION_NOT_IN_CPL` (no CPL entry, whatever its
status, for the device's manufacturer and model at that version), `SUCCESS_NOT_ACTIVATED` (a
success the DSP never saw activate: no Activated delivery of that version to the device, and no
N39 or 11.2 read-back recording it), `FAILURE_BUT_ACTIVATED` (the reverse).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from althan.dsp import cpl
from althan.dsp.records import Source, iso
from althan.model import EUI64
from althan.store.bulk import raw, select_where_in
from althan.store.tables import (
    cpl_entries,
    devices,
    firmware_deliveries,
    firmware_history,
    intake_outcomes,
    intake_submissions,
)
from althan.store.types import eui_from_db, eui_to_db

JSON, CSV = "application/json", "text/csv"
MEDIA_TYPES: Final = (JSON, CSV)
FIELDS: Final = ("device", "version", "outcome", "time")
OUTCOMES: Final = ("success", "failure")
MAX_OUTCOMES = 50_000
MAX_BODY = 10_000_000
_VERSION = re.compile(r"^[0-9A-Fa-f]{8}$")

UNKNOWN_DEVICE = "unknown-device"
NOT_SUPPLIERS_DEVICE = "not-suppliers-device"
VERSION_NOT_IN_CPL = "version-not-in-cpl"
SUCCESS_NOT_ACTIVATED = "success-not-activated"
FAILURE_BUT_ACTIVATED = "failure-but-activated"


class SubmissionError(ValueError):
    """Refused whole: nothing stored."""


class SubmissionInvalid(SubmissionError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


class SubmissionRefused(SubmissionError):
    """Well-formed, but not this supplier's to submit."""


class SubmissionConflict(SubmissionError):
    """The supplier used this submission ID before, for another body."""


@dataclass(frozen=True, slots=True)
class Outcome:
    line: int  # the JSON item (from 1) or the CSV line (the header is line 1)
    device: EUI64
    version: str
    outcome: str
    at: datetime


# ------------------------------------------------------------------ parsing


def _outcome(line: int, item: Any) -> Outcome:
    if not isinstance(item, dict):
        raise SubmissionInvalid("an outcome must be an object", line)
    missing = [f for f in FIELDS if f not in item]
    extra = sorted(set(item) - set(FIELDS))
    if missing or extra:
        raise SubmissionInvalid(
            f"fields {', '.join(FIELDS)} expected"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else ""),
            line,
        )
    values = {f: item[f] for f in FIELDS}
    if not all(isinstance(v, str) for v in values.values()):
        raise SubmissionInvalid("every field is a string", line)
    try:
        device = EUI64.parse(values["device"])
    except ValueError as exc:
        raise SubmissionInvalid(f"device {values['device']!r}: {exc}", line) from None
    version = values["version"].strip()
    if not _VERSION.match(version):
        raise SubmissionInvalid(f"version {version!r}: 8 hex digits, as DUIS writes it", line)
    outcome = values["outcome"].strip().lower()
    if outcome not in OUTCOMES:
        raise SubmissionInvalid(f"outcome {values['outcome']!r}: success or failure", line)
    try:
        at = datetime.fromisoformat(values["time"].strip())
    except ValueError:
        raise SubmissionInvalid(f"time {values['time']!r}: not ISO 8601", line) from None
    if at.tzinfo is None:
        raise SubmissionInvalid(f"time {values['time']!r}: give its zone (e.g. Z)", line)
    return Outcome(line, device, version.upper(), outcome, at.astimezone(UTC))


def parse(media_type: str, body: bytes, supplier: EUI64) -> list[Outcome]:
    """The outcomes of a submission body (SubmissionInvalid, SubmissionRefused)."""
    if media_type not in MEDIA_TYPES:
        raise SubmissionInvalid(f"media type {media_type!r}: {JSON} or {CSV}")
    if len(body) > MAX_BODY:
        raise SubmissionInvalid(f"{len(body):,} bytes: at most {MAX_BODY:,}")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionInvalid(f"not UTF-8: {exc}") from None
    items: list[tuple[int, Any]]
    if media_type == JSON:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SubmissionInvalid(f"not JSON: {exc}") from None
        if isinstance(doc, dict):
            named = doc.get("supplier")
            if named is not None and str(named).upper() != str(supplier):
                raise SubmissionRefused(
                    f"the submission is for supplier {named}; you are {supplier}"
                )
            doc = doc.get("outcomes")
        if not isinstance(doc, list):
            raise SubmissionInvalid('expected a list of outcomes, or {"outcomes": [...]}')
        items = list(enumerate(doc, start=1))
    else:
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or sorted(f.strip() for f in reader.fieldnames) != sorted(
            FIELDS
        ):
            raise SubmissionInvalid(f"the CSV header must be {','.join(FIELDS)}", 1)
        items = []
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise SubmissionInvalid("wrong number of fields", reader.line_num)
            items.append((reader.line_num, {k.strip(): v for k, v in row.items()}))
    if not items:
        raise SubmissionInvalid("no outcomes")
    if len(items) > MAX_OUTCOMES:
        raise SubmissionInvalid(f"{len(items):,} outcomes: at most {MAX_OUTCOMES:,}")
    return [_outcome(line, item) for line, item in items]


# ------------------------------------------------------------------ storing


@dataclass(frozen=True, slots=True)
class Submission:
    id: int
    supplier: EUI64
    submission_ref: str
    received_at: datetime
    media_type: str
    outcomes: int
    repeated: bool = False  # this call found it already stored

    def as_json(self) -> dict[str, Any]:
        return {
            "submission": self.id,
            "supplier": str(self.supplier),
            "submission_ref": self.submission_ref,
            "received_at": iso(self.received_at),
            "media_type": self.media_type,
            "outcomes": self.outcomes,
        }


def _submission(r: Any, repeated: bool = False) -> Submission:
    return Submission(
        r.id, r.supplier, r.submission_ref, r.received_at, r.media_type, r.outcomes, repeated
    )


def _owners(conn: Connection, euis: Sequence[EUI64]) -> dict[int, Any]:
    stored = sorted({eui_to_db(e) for e in euis})
    q = select(
        raw(devices.c.eui).label("eui"),
        raw(devices.c.supplier).label("supplier"),
        devices.c.manufacturer,
        devices.c.model,
    )
    return {r.eui: r for r in select_where_in(conn, q, devices.c.eui, stored)}


def accept(
    conn: Connection,
    supplier: EUI64,
    submission_ref: str,
    media_type: str,
    body: bytes,
    now: datetime,
) -> Submission:
    """Parse, authorise and keep a supplier's submission (SubmissionError: nothing stored)."""
    ref = submission_ref.strip()
    if not ref or len(ref) > 100:
        raise SubmissionInvalid("the submission ID must be 1 to 100 characters")
    sha = hashlib.sha256(body).hexdigest()
    s = intake_submissions.c
    found = conn.execute(
        select(intake_submissions).where(s.supplier == supplier, s.submission_ref == ref)
    ).first()
    if found is not None:
        if found.body_sha256 != sha:
            raise SubmissionConflict(f"submission {ref!r} was received before with another body")
        return _submission(found, repeated=True)
    outcomes = parse(media_type, body, supplier)
    owners = _owners(conn, [o.device for o in outcomes])
    mine = eui_to_db(supplier)
    if not any((r := owners.get(eui_to_db(o.device))) and r.supplier == mine for o in outcomes):
        raise SubmissionRefused(
            f"no device of this submission is {supplier}'s: "
            "a supplier submits the outcomes of its own devices"
        )
    sid = conn.execute(
        insert(intake_submissions)
        .values(
            supplier=supplier,
            submission_ref=ref,
            received_at=now,
            media_type=media_type,
            body_sha256=sha,
            outcomes=len(outcomes),
        )
        .returning(s.id)
    ).scalar_one()
    conn.execute(
        insert(intake_outcomes),
        [
            {
                "submission_id": sid,
                "line": o.line,
                "device": o.device,
                "firmware_version": o.version,
                "outcome": o.outcome,
                "at": o.at,
            }
            for o in outcomes
        ],
    )
    return _submission(conn.execute(select(intake_submissions).where(s.id == sid)).one())


def keep(
    engine: Engine,
    supplier: EUI64,
    submission_ref: str,
    media_type: str,
    body: bytes,
    now: datetime,
) -> Reconciliation:
    """`accept` and `reconcile` in one transaction. Two copies of one submission racing to the
    insert (a client's retry while the first is in flight): the loser's unique violation rolls
    its transaction back and it runs once more, finding the winner's row (a repeat, or a
    conflict if the bodies differ)."""

    def once() -> Reconciliation:
        with engine.begin() as conn:
            sub = accept(conn, supplier, submission_ref, media_type, body, now)
            rec = reconcile(conn, sub.id)
        assert rec is not None, "accept kept it"
        return dataclasses.replace(rec, submission=sub)  # with `repeated`

    try:
        return once()
    except IntegrityError:
        return once()


def submissions(
    conn: Connection, *, supplier: EUI64 | None = None, latest: int | None = None
) -> list[Submission]:
    """Every submission (of `supplier`, if given), oldest first; with `latest`, only the
    `latest` newest, newest first."""
    c = intake_submissions.c
    q = select(intake_submissions)
    if supplier is not None:
        q = q.where(c.supplier == supplier)
    q = q.order_by(c.id) if latest is None else q.order_by(c.id.desc()).limit(latest)
    return [_submission(r) for r in conn.execute(q)]


# ------------------------------------------------------------------ reconciling


@dataclass(frozen=True, slots=True)
class Discrepancy:
    line: int
    device: EUI64
    version: str
    outcome: str
    kind: str
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "device": str(self.device)}


@dataclass(frozen=True, slots=True)
class Reconciliation:
    submission: Submission
    discrepancies: tuple[Discrepancy, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.submission.as_json(),
            "discrepancies": [d.as_json() for d in self.discrepancies],
        }


_SEEN_SOURCES = (Source.N39.value, Source.READ_BACK.value)


def _activated(conn: Connection, stored: Sequence[int]) -> set[tuple[int, str]]:
    """(device, version) the DSP saw running: an Activated delivery, an N39, a read-back."""
    d, h = firmware_deliveries.c, firmware_history.c
    q1 = select(raw(d.device).label("device"), d.firmware_version).where(d.status == "Activated")
    q2 = select(raw(h.device).label("device"), h.firmware_version).where(
        h.source.in_(_SEEN_SOURCES)
    )
    seen: set[tuple[int, str]] = set()
    for q, col in ((q1, d.device), (q2, h.device)):
        seen.update((r.device, r.firmware_version) for r in select_where_in(conn, q, col, stored))
    return seen


def _in_cpl(conn: Connection) -> set[tuple[str, str, str]]:
    c = cpl_entries.c
    return {
        (r.manufacturer.upper(), r.model.upper(), r.firmware_version.upper())
        for r in conn.execute(select(c.manufacturer, c.model, c.firmware_version))
    }


def _check(
    o: Outcome, row: Any, mine: int, cpl_versions: set[tuple[str, str, str]], seen: set[Any]
) -> Iterable[tuple[str, str]]:
    if row is None:
        yield UNKNOWN_DEVICE, "the SMI does not know this device"
        return
    if row.supplier != mine:
        owner = "no supplier" if row.supplier is None else str(eui_from_db(row.supplier))
        yield NOT_SUPPLIERS_DEVICE, f"the SMI names {owner} responsible for it"
        return
    model_id, _hw = cpl.split_model(row.model)
    if (row.manufacturer.upper(), model_id, o.version) not in cpl_versions:
        yield VERSION_NOT_IN_CPL, f"no CPL entry for {row.manufacturer} {model_id} {o.version}"
    activated = (eui_to_db(o.device), o.version) in seen
    if o.outcome == "success" and not activated:
        yield SUCCESS_NOT_ACTIVATED, f"the DSP never saw {o.version} activate on it"
    if o.outcome == "failure" and activated:
        yield FAILURE_BUT_ACTIVATED, f"the DSP saw {o.version} activate on it"


def reconcile(conn: Connection, submission_id: int) -> Reconciliation | None:
    """A submission's differences from the DSP's records, line by line (None: no such
    submission). Set-based: one query per table whatever the submission's size."""
    r = conn.execute(
        select(intake_submissions).where(intake_submissions.c.id == submission_id)
    ).first()
    if r is None:
        return None
    sub = _submission(r)
    o = intake_outcomes.c
    outcomes = [
        Outcome(x.line, x.device, x.firmware_version, x.outcome, x.at)
        for x in conn.execute(
            select(intake_outcomes).where(o.submission_id == submission_id).order_by(o.line)
        )
    ]
    owners = _owners(conn, [x.device for x in outcomes])
    seen = _activated(conn, sorted(owners))
    cpl_versions = _in_cpl(conn)
    mine = eui_to_db(sub.supplier)
    found = tuple(
        Discrepancy(x.line, x.device, x.version, x.outcome, kind, detail)
        for x in outcomes
        for kind, detail in _check(x, owners.get(eui_to_db(x.device)), mine, cpl_versions, seen)
    )
    return Reconciliation(sub, found)
