"""A supplier's campaigns, kept in its own store: ``<DIR>/campaigns.sqlite`` (SQLAlchemy Core).

Every change is one transaction, so a ``kill -9`` at any point leaves the store as it was
before or after the change, never in between:

* ``prepare_send`` records "wave N's chunk is about to be sent with RequestID R" (the signed
  XML itself) *before* it is POSTed; ``record_answer`` records the DCC's answer; a send still
  ``prepared`` after a crash is POSTed again, byte for byte: if the DCC had it, it answers
  ``E12`` (the RequestID's counter is not above the user's last) and changes nothing;
* ``apply`` records one document the DSP POSTed (by its SHA-256, so a redelivered one counts
  once) and every device state it moves, and only then does the endpoint answer 200, so an
  outcome the DSP delivered is never lost (it retries until answered).

A device's attempts are kept per wave (``attempts``): the first wave it was planned in and
each retry (``retry-failed``); its state is its latest attempt's.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from althan.model import EUI64
from althan.supplier.campaign_plan import PlanError
from althan.supplier.campaign_tables import (
    ACCEPTED,
    ACTIVATED,
    CANCELLED,
    COMPLETED,
    CREATED,
    FAILED,
    HELD,
    PENDING,
    RANK,
    W_PENDING,
    W_SENDING,
    W_SENT,
    CampaignRow,
    DeviceEvent,
    LateAnswer,
    SendRow,
    WaveRow,
    attempts,
    campaigns,
    counters,
    documents,
    iso,
    md,
    sends,
    waves,
)

__all__ = ["CampaignStore"]


class CampaignStore:
    """The campaigns under one ``--store`` directory."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path

    @classmethod
    def open(cls, folder: Path) -> CampaignStore:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PlanError(f"--store {folder}: {exc.strerror or exc}") from None
        path = folder / "campaigns.sqlite"
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        md.create_all(engine)
        return cls(engine, path)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ campaigns

    def create(
        self,
        name: str,
        plan: Mapping[str, Any],
        image: bytes,
        devices: Sequence[EUI64],
        slices: Sequence[tuple[int, int]],
        now: datetime,
    ) -> None:
        at = iso(now)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(campaigns),
                    {"name": name, "plan": json.dumps(dict(plan), sort_keys=True),
                     "image": image, "state": CREATED, "reason": "", "created_at": at},
                )  # fmt: skip
                conn.execute(
                    insert(waves),
                    [
                        {"campaign": name, "wave": i, "kind": "wave", "state": W_PENDING,
                         "size": end - start, "decision": ""}
                        for i, (start, end) in enumerate(slices, start=1)
                    ],
                )  # fmt: skip
                conn.execute(
                    insert(attempts),
                    [
                        {"campaign": name, "wave": i, "eui": str(devices[pos]), "pos": pos,
                         "request_id": None, "state": PENDING, "reason": "", "updated_at": at}
                        for i, (start, end) in enumerate(slices, start=1)
                        for pos in range(start, end)
                    ],
                )  # fmt: skip
        except IntegrityError:
            raise PlanError(f"a campaign named {name!r} exists already in {self.path}") from None

    def campaign(self, name: str) -> CampaignRow | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(campaigns).where(campaigns.c.name == name)).first()
        if r is None:
            return None
        return CampaignRow(
            r.name,
            json.loads(r.plan),
            r.image,
            r.state,
            r.reason,
            r.created_at,
            r.ended_at,
            json.loads(r.intake) if r.intake else None,
        )

    def names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(campaigns.c.name).order_by(campaigns.c.name)).scalars())

    def set_state(
        self, name: str, state: str, reason: str, now: datetime, *, only_from: Iterable[str]
    ) -> bool:
        """Move the campaign to `state` if it is in one of `only_from` (False otherwise)."""
        values: dict[str, Any] = {"state": state, "reason": reason}
        if state in (COMPLETED, CANCELLED):
            values["ended_at"] = iso(now)
        with self.engine.begin() as conn:
            n = conn.execute(
                update(campaigns)
                .where(campaigns.c.name == name, campaigns.c.state.in_(list(only_from)))
                .values(**values)
            ).rowcount
        return bool(n)

    def set_intake(self, name: str, answer: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(campaigns)
                .where(campaigns.c.name == name)
                .values(intake=json.dumps(dict(answer), sort_keys=True))
            )

    # ------------------------------------------------------------------ waves and sends

    def waves(self, name: str) -> list[WaveRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(waves).where(waves.c.campaign == name).order_by(waves.c.wave)
            ).all()
        return [WaveRow(r.wave, r.kind, r.state, r.size, r.decision) for r in rows]

    def set_wave(self, name: str, wave: int, state: str, decision: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(waves)
                .where(waves.c.campaign == name, waves.c.wave == wave)
                .values(state=state, decision=decision)
            )

    def wave_devices(self, name: str, wave: int) -> list[EUI64]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(attempts.c.eui)
                .where(attempts.c.campaign == name, attempts.c.wave == wave)
                .order_by(attempts.c.pos)
            ).scalars()
            return [EUI64.parse(e) for e in rows]

    def next_counter(self, user: EUI64, floor: int) -> int:
        """A RequestID counter above every one this store gave `user` (and at least
        `floor`, e.g. the time in microseconds, so that other clients' are passed too)."""
        with self.engine.begin() as conn:
            last = conn.execute(
                select(counters.c.last).where(counters.c.user == str(user))
            ).scalar_one_or_none()
            value = max(floor, (last or 0) + 1)
            if last is None:
                conn.execute(insert(counters), {"user": str(user), "last": value})
            else:
                conn.execute(
                    update(counters).where(counters.c.user == str(user)).values(last=value)
                )
        return value

    def prepare_send(
        self,
        name: str,
        wave: int,
        chunk: int,
        request_id: str,
        service: str,
        xml: bytes,
        devices: Sequence[EUI64],
        now: datetime,
    ) -> None:
        """Record, before it is POSTed, that this 11.4 is about to be sent."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(sends),
                {"request_id": request_id, "campaign": name, "wave": wave, "chunk": chunk,
                 "service": service, "state": "prepared", "xml": xml, "code": None,
                 "detail": "", "prepared_at": iso(now)},
            )  # fmt: skip
            conn.execute(
                update(attempts)
                .where(
                    attempts.c.campaign == name,
                    attempts.c.wave == wave,
                    attempts.c.eui.in_([str(d) for d in devices]),
                )
                .values(request_id=request_id, updated_at=iso(now))
            )
            conn.execute(
                update(waves)
                .where(waves.c.campaign == name, waves.c.wave == wave)
                .values(state=W_SENDING)
            )

    def sends(self, name: str, *, state: str | None = None) -> list[SendRow]:
        q = select(sends).where(sends.c.campaign == name)
        if state is not None:
            q = q.where(sends.c.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(sends.c.wave, sends.c.chunk)).all()
        return [
            SendRow(r.request_id, r.wave, r.chunk, r.service, r.state, r.xml, r.code, r.detail)
            for r in rows
        ]

    def record_answer(
        self,
        request_id: str,
        code: str,
        failed: Mapping[EUI64, str],
        *,
        refused: bool,
        detail: str,
        now: datetime,
    ) -> None:
        """The DCC's answer to a send: the devices it lists fail (reason: the list), the rest
        are accepted — or, `refused`, all fail with the code."""
        with self.engine.begin() as conn:
            self._answer(conn, request_id, code, failed, refused, detail, iso(now))

    def _answer(
        self,
        conn: Connection,
        request_id: str,
        code: str,
        failed: Mapping[EUI64, str],
        refused: bool,
        detail: str,
        at: str,
    ) -> None:
        s = conn.execute(select(sends).where(sends.c.request_id == request_id)).one()
        conn.execute(
            update(sends)
            .where(sends.c.request_id == request_id)
            .values(state="answered", code=code, detail=detail, xml=None, answered_at=at)
        )
        mine = (
            attempts.c.campaign == s.campaign,
            attempts.c.wave == s.wave,
            attempts.c.request_id == request_id,
        )
        if refused:
            conn.execute(
                update(attempts)
                .where(*mine)
                .values(state=FAILED, reason=f"refused {code}", updated_at=at)
            )
        else:
            conn.execute(
                update(attempts)
                .where(*mine, attempts.c.state == PENDING)
                .values(state=ACCEPTED, updated_at=at)
            )
            for eui, why in failed.items():
                conn.execute(
                    update(attempts)
                    .where(*mine, attempts.c.eui == str(eui))
                    .values(state=FAILED, reason=why, updated_at=at)
                )
        open_ = conn.execute(
            select(func.count())
            .select_from(sends)
            .where(
                sends.c.campaign == s.campaign,
                sends.c.wave == s.wave,
                sends.c.state == "prepared",
            )
        ).scalar_one()
        if not open_:
            conn.execute(
                update(waves)
                .where(
                    waves.c.campaign == s.campaign,
                    waves.c.wave == s.wave,
                    waves.c.state == W_SENDING,
                )
                .values(state=W_SENT)
            )

    # ------------------------------------------------------------------ what the DSP says

    def apply(
        self,
        sha256: str,
        code: str,
        events: Sequence[DeviceEvent],
        now: datetime,
        answer: LateAnswer | None = None,
    ) -> int:
        """Record one received document and move the devices it names; the number moved
        (0 for a document received before). `answer`: the document is the answer to a send
        the DCC held (I99: anomaly detection quarantined it), now released or refused."""
        at = iso(now)
        with self.engine.begin() as conn:
            try:
                conn.execute(
                    insert(documents),
                    {"sha256": sha256, "received_at": at, "code": code, "applied": 0},
                )
            except IntegrityError:
                return 0
            moved = sum(self._move(conn, e, at) for e in events)
            if answer is not None:
                moved += self._late_answer(conn, answer, at)
            conn.execute(
                update(documents).where(documents.c.sha256 == sha256).values(applied=moved)
            )
        return moved

    def _late_answer(self, conn: Connection, a: LateAnswer, at: str) -> int:
        held = conn.execute(
            select(sends.c.code).where(sends.c.request_id == a.request_id)
        ).scalar_one_or_none()
        if held != HELD:
            return 0  # not ours, or answered already
        detail = f"held by the DCC's anomaly detection ({HELD}); then answered {a.code}"
        self._answer(conn, a.request_id, a.code, a.warned, a.refused, detail, at)
        return 1

    def _move(self, conn: Connection, e: DeviceEvent, at: str) -> int:
        q = select(attempts, campaigns.c.plan).join(
            campaigns, campaigns.c.name == attempts.c.campaign
        )
        q = q.where(attempts.c.eui == str(e.device), attempts.c.request_id.is_not(None))
        if e.request_id is not None:
            q = q.where(attempts.c.request_id == e.request_id)
        # the latest send to the device (a counter grows with each)
        rows = conn.execute(q).all()
        if not rows:
            return 0
        r = max(rows, key=lambda x: int(str(x.request_id).rsplit(":", 1)[-1]))
        if e.version is not None and json.loads(r.plan)["version"] != e.version:
            return 0  # another image's activation
        cur, new = r.state, e.state
        if cur == new:
            return 0
        if new != ACTIVATED and (cur in (ACTIVATED, FAILED) or RANK[new] <= RANK[cur]):
            return 0
        conn.execute(
            update(attempts)
            .where(
                attempts.c.campaign == r.campaign,
                attempts.c.wave == r.wave,
                attempts.c.eui == r.eui,
            )
            .values(state=new, reason=e.reason if new == FAILED else "", updated_at=at)
        )
        return 1

    # ------------------------------------------------------------------ reading it back

    def attempts(self, name: str) -> list[tuple[int, str, str, str, str | None]]:
        """(wave, eui, state, reason, request_id) of every attempt, by wave then position."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    attempts.c.wave,
                    attempts.c.eui,
                    attempts.c.state,
                    attempts.c.reason,
                    attempts.c.request_id,
                )
                .where(attempts.c.campaign == name)
                .order_by(attempts.c.wave, attempts.c.pos)
            ).all()
        return [(r.wave, r.eui, r.state, r.reason, r.request_id) for r in rows]

    def latest(self, name: str) -> dict[str, tuple[str, str, int]]:
        """Each device's state, failure reason and wave, from its latest attempt."""
        out: dict[str, tuple[str, str, int]] = {}
        for wave, eui, state, reason, _rid in self.attempts(name):
            out[eui] = (state, reason, wave)
        return out

    def wave_counts(self, name: str) -> dict[int, Counter[str]]:
        out: dict[int, Counter[str]] = {}
        for wave, _eui, state, _reason, _rid in self.attempts(name):
            out.setdefault(wave, Counter())[state] += 1
        return out

    def queue_retry(self, name: str, reasons: Iterable[str] | None, now: datetime) -> int:
        """A new wave of the failed devices (those whose failure reason is one of `reasons`,
        when given): the number queued."""
        want = None if reasons is None else set(reasons)
        failed = [
            (eui, wave)
            for eui, (state, reason, wave) in self.latest(name).items()
            if state == FAILED and (want is None or reason in want)
        ]
        if not failed:
            return 0
        at = iso(now)
        with self.engine.begin() as conn:
            number = (
                conn.execute(
                    select(func.max(waves.c.wave)).where(waves.c.campaign == name)
                ).scalar_one()
                or 0
            ) + 1
            conn.execute(
                insert(waves),
                {"campaign": name, "wave": number, "kind": "retry", "state": W_PENDING,
                 "size": len(failed), "decision": ""},
            )  # fmt: skip
            conn.execute(
                insert(attempts),
                [
                    {"campaign": name, "wave": number, "eui": eui, "pos": pos,
                     "request_id": None, "state": PENDING, "reason": "", "updated_at": at}
                    for pos, (eui, _w) in enumerate(failed)
                ],
            )  # fmt: skip
        return len(failed)

    def updated_at(self, name: str) -> dict[str, str]:
        """When each device's latest attempt last moved (ISO 8601, UTC)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(attempts.c.eui, attempts.c.updated_at)
                .where(attempts.c.campaign == name)
                .order_by(attempts.c.wave)
            ).all()
        return {r.eui: r.updated_at for r in rows}

    def documents(self) -> Counter[str]:
        """How many documents of each code the endpoint recorded."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(documents.c.code, func.count()).group_by(documents.c.code)
            ).all()
        return Counter({r[0]: int(r[1]) for r in rows})
