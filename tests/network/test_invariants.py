"""The invariant checker (runtime/invariants.py) can fail: each invariant, fed a doctored run,
is the one `check` reports; a clean run passes."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from althan.runtime.invariants import INVARIANTS, Broken, DeliveryRow, RunState, check

DEV_A = "00-DB-12-00-00-00-00-0A"
DEV_B = "00-DB-12-00-00-00-00-0B"
REQ = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1001"
NEW, OLD = "01000200", "01000100"


def clean() -> RunState:
    """A run that ended well: A activated, B failed (its image was lost on the WAN)."""
    return RunState(
        deliveries=[
            DeliveryRow(REQ, DEV_A, "Activated", "", NEW),
            DeliveryRow(REQ, DEV_B, "Failed", "WAN transfer failed", NEW),
        ],
        device_versions={DEV_A: NEW, DEV_B: OLD},
        smi_versions={DEV_A: NEW, DEV_B: OLD},
        activations={DEV_A: [NEW]},
        accepted={REQ: "I0"},
        stored={REQ: ("I0", 2)},
        owed={"dcc:user:1", "dcc:user:2", "dcc:user:3"},
        received=[
            ("dcc:user:1", "N55", frozenset({DEV_A})),
            ("dcc:user:2", "N39", frozenset({DEV_A})),
            ("dcc:user:2", "N39", frozenset({DEV_A})),  # a copy delivered twice counts once
            ("dcc:user:3", "N55", frozenset({DEV_B})),
        ],
    )


def _in_progress(s: RunState) -> None:
    s.deliveries[1] = DeliveryRow(REQ, DEV_B, "Delivered", "", NEW)


def _failed_without_reason(s: RunState) -> None:
    s.deliveries[1] = DeliveryRow(REQ, DEV_B, "Failed", "", NEW)


def _activated_twice(s: RunState) -> None:
    s.activations[DEV_A] = [NEW, NEW]


def _two_n39s(s: RunState) -> None:
    s.owed.add("dcc:user:4")
    s.received.append(("dcc:user:4", "N39", frozenset({DEV_A})))


def _request_not_stored(s: RunState) -> None:
    s.stored.clear()


def _stored_with_another_code(s: RunState) -> None:
    s.stored[REQ] = ("E120201", 0)


def _delivery_lost(s: RunState) -> None:
    del s.deliveries[1]


def _outcome_untold(s: RunState) -> None:
    s.received = [r for r in s.received if r[0] != "dcc:user:3"]
    s.owed.discard("dcc:user:3")


def _smi_behind(s: RunState) -> None:
    s.smi_versions[DEV_A] = OLD


def _smi_missing(s: RunState) -> None:
    del s.smi_versions[DEV_B]


def _alert_never_arrived(s: RunState) -> None:
    s.owed.add("dcc:user:9")


def _alert_not_owed(s: RunState) -> None:
    s.received.append(("dcc:user:8", "N56", frozenset({DEV_A})))


def _bad_signature(s: RunState) -> None:
    s.bad_signatures = 1


DOCTORED: list[tuple[str, Callable[[RunState], None], str]] = [
    ("deliveries-final", _in_progress, "is Delivered"),
    ("deliveries-final", _failed_without_reason, "no reason"),
    ("activates-once", _activated_twice, "activated 01000200 2 times for 1 request"),
    ("activates-once", _two_n39s, "2 N39 alerts for 1 request"),
    ("requests-answered", _request_not_stored, "is not in the store"),
    ("requests-answered", _stored_with_another_code, "stored E120201"),
    ("requests-answered", _delivery_lost, "accepted 2 devices, 1 deliveries"),
    ("requests-answered", _outcome_untold, "ended Failed; its user got none of"),
    ("smi-version", _smi_behind, "runs 01000200, the SMI says 01000100"),
    ("smi-version", _smi_missing, "the SMI says None"),
    ("alerts-delivered", _alert_never_arrived, "never reached their user, first dcc:user:9"),
    ("alerts-delivered", _alert_not_owed, "reached a user unowed, first dcc:user:8"),
    ("alerts-delivered", _bad_signature, "did not verify"),
]


def test_a_clean_run_passes() -> None:
    assert check(clean()) is None


@pytest.mark.parametrize(("invariant", "doctor", "detail"), DOCTORED)
def test_each_invariant_can_fail(
    invariant: str, doctor: Callable[[RunState], None], detail: str
) -> None:
    s = copy.deepcopy(clean())
    doctor(s)
    broken = check(s)
    assert isinstance(broken, Broken)
    assert broken.invariant == invariant
    assert detail in broken.detail
    assert str(broken) == f"{invariant}: {broken.detail}"


def test_every_invariant_has_a_doctored_run() -> None:
    assert {d[0] for d in DOCTORED} == set(INVARIANTS)


def test_the_first_broken_invariant_is_reported() -> None:
    s = clean()
    _alert_never_arrived(s)
    _in_progress(s)
    broken = check(s)
    assert broken is not None and broken.invariant == "deliveries-final"
