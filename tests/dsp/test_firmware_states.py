"""The firmware delivery state machine: every (state, event) pair of its one table."""

from __future__ import annotations

import itertools

import pytest

from althan.dsp.firmware import (
    FINAL,
    TRANSITIONS,
    DeliveryEvent,
    DeliveryState,
    IllegalTransition,
    next_state,
)

S, E = DeliveryState, DeliveryEvent


@pytest.mark.parametrize(("state", "event"), list(itertools.product(S, E)))
def test_every_pair_moves_as_the_table_says_or_raises(
    state: DeliveryState, event: DeliveryEvent
) -> None:
    allowed = TRANSITIONS[state]
    if event in allowed:
        assert next_state(state, event) is allowed[event]
    else:
        with pytest.raises(IllegalTransition) as exc:
            next_state(state, event)
        assert (exc.value.state, exc.value.event) == (state, event)


def test_the_table_names_every_state_and_only_the_ends_are_final() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {S.ACTIVATED, S.FAILED} == FINAL
    # from Distributed, every state can be reached, and every path ends in a final state
    seen, todo = {S.DISTRIBUTED}, [S.DISTRIBUTED]
    while todo:
        for nxt in TRANSITIONS[todo.pop()].values():
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(S)


def test_the_happy_path_and_the_device_speaking_out_of_order() -> None:
    s = S.DISTRIBUTED
    for event, want in (
        (E.CH_DELIVERED, S.DELIVERED),
        (E.TRANSFERRED, S.TRANSFERRED),
        (E.ACTIVATED, S.ACTIVATED),
    ):
        s = next_state(s, event)
        assert s is want
    # the CH's CCS08 or the CSP's status may be lost: the device's own CS09 still counts
    assert next_state(S.DISTRIBUTED, E.ACTIVATED) is S.ACTIVATED
    assert next_state(S.DELIVERED, E.ACTIVATED) is S.ACTIVATED
    # a late CSP status after the transfer changes nothing: the table refuses it
    with pytest.raises(IllegalTransition):
        next_state(S.TRANSFERRED, E.CH_DELIVERED)
    # every failure is final
    for state, events in TRANSITIONS.items():
        for event, nxt in events.items():
            if event in (E.CH_DELIVERY_FAILED, E.TRANSFER_FAILED, E.ACTIVATION_FAILED):
                assert nxt is S.FAILED, (state, event)
