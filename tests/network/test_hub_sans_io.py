"""The Comms Hub on its own: events in, outputs out, as frozen values; one device state machine
(the real OTA client plus the power table), walked entry by entry."""

from __future__ import annotations

import hashlib
import heapq
import itertools
from dataclasses import FrozenInstanceError

import pytest
from network_support import NEW_VERSION, bridge_image

from althan.han import HanTiming, Strategy, TopologyKind, TransferResult, enumerate_topologies
from althan.han.device import TRANSITIONS, Device, DeviceStateError, Power, PowerEvent
from althan.han.events import (
    ActivationAlert,
    CorruptBlock,
    HubEvent,
    HubOutput,
    ImageDelivered,
    ImageOnTheWay,
    PowerCycle,
    StartTimer,
    TransferAlert,
)
from althan.han.hub import CommsHub
from althan.han.image import OtaImages
from althan.han.strategy import STRATEGIES
from althan.zigbee.client import ClientState

FLEET = enumerate_topologies(seed=5)
GAS = next(h for h in FLEET.homes if h.kind is TopologyKind.GAS_REMOTE_MAINS)


def _hub(strategy: Strategy = Strategy.HAN_AWARE) -> CommsHub:
    return CommsHub(
        0, GAS, HanTiming(), STRATEGIES[strategy], OtaImages(), preloaded_device_logs=True
    )


def _drive(hub: CommsHub, events: list[tuple[float, HubEvent]]) -> list[tuple[float, HubOutput]]:
    """Run the hub as its CSP would: hand each event in, start the timers it asks for."""
    seq = itertools.count()
    queue = [(t, next(seq), e) for t, e in events]
    heapq.heapify(queue)
    got: list[tuple[float, HubOutput]] = []
    while queue:
        now, _, ev = heapq.heappop(queue)
        for out in hub.handle(ev, now):
            if isinstance(out, StartTimer):
                heapq.heappush(queue, (now + out.delay, next(seq), out.timer))
            else:
                got.append((now, out))
    return got


def _deliver(hub: CommsHub, image: bytes, *devices: object) -> list[tuple[float, HubEvent]]:
    sha = hashlib.sha256(image).hexdigest()
    return [
        (0.0, ImageOnTheWay()),
        (1.0, ImageDelivered(sha, image, tuple(d.eui for d in devices))),  # type: ignore[attr-defined]
    ]


def test_outputs_are_frozen_values_and_the_device_keeps_no_image_bytes() -> None:
    hub = _hub()
    b2 = GAS.remote_bridges[0]
    image = bridge_image(b2.variant, size=8_192)
    got = _drive(hub, _deliver(hub, image, b2))
    assert [type(o) for _, o in got] == [TransferAlert, ActivationAlert]
    (_, transfer), (t_done, activation) = got
    assert transfer == TransferAlert(b2.eui, TransferResult.SUCCESS, NEW_VERSION)
    assert activation == ActivationAlert(b2.eui, NEW_VERSION)
    with pytest.raises(FrozenInstanceError):
        activation.version = 0  # type: ignore[misc]
    d = hub.by_eui[b2.eui]
    assert d.version == NEW_VERSION and d.completed_at == t_done
    assert d.client.received is None  # aggregate download: offset only, never the bytes
    assert hub.ota_blocks == -(-len(image) // HanTiming().block_size)


def test_strategy_is_an_object_naive_activates_at_once_han_aware_holds() -> None:
    b2 = GAS.remote_bridges[0]
    image = bridge_image(b2.variant)
    times = {}
    for s in Strategy:
        hub = _hub(s)
        assert hub.strategy is STRATEGIES[s] and hub.strategy.name is s
        got = _drive(hub, _deliver(hub, image, b2))
        (t_transfer, _), (t_active, _) = got
        times[s] = t_active - t_transfer
    t = HanTiming()
    assert times[Strategy.NAIVE] == t.reboot_s + t.rejoin_s  # activates as soon as it verifies
    assert times[Strategy.HAN_AWARE] == t.settle_s + t.reboot_s + t.rejoin_s  # held, released


def test_injected_corruption_fails_the_check_once() -> None:
    hub = _hub()
    b2 = GAS.remote_bridges[0]
    image = bridge_image(b2.variant)
    got = _drive(hub, [(0.0, CorruptBlock(b2.eui)), *_deliver(hub, image, b2)])
    assert [o for _, o in got] == [
        TransferAlert(b2.eui, TransferResult.IMAGE_DISCARDED, NEW_VERSION)
    ]
    d = hub.by_eui[b2.eui]
    assert d.state is ClientState.IDLE and d.client.offset == 0 and not d.client.damaged
    got = _drive(hub, _deliver(hub, image, b2))  # the next transfer is clean
    assert got[-1][1] == ActivationAlert(b2.eui, NEW_VERSION)


def test_power_cycle_mid_download_resumes_from_the_offset() -> None:
    hub = _hub()
    b2 = GAS.remote_bridges[0]
    image = bridge_image(b2.variant, size=16_384)
    got = _drive(hub, [*_deliver(hub, image, b2), (20.0, PowerCycle(b2.eui))])
    assert got[-1][1] == ActivationAlert(b2.eui, NEW_VERSION)
    d = hub.by_eui[b2.eui]
    assert d.stalls == 1
    assert hub.ota_blocks == -(-len(image) // HanTiming().block_size)  # nothing sent twice


# --------------------------------------------------------------------------- the power table


def _device_in(state: Power) -> Device:
    d = Device(GAS.b1, 0, HanTiming())
    d.power = state
    return d


@pytest.mark.parametrize(("state", "event"), list(itertools.product(Power, PowerEvent)))
def test_power_table_every_state_and_event(state: Power, event: PowerEvent) -> None:
    d = _device_in(state)
    want = TRANSITIONS.get((state, event))
    if want is None:
        with pytest.raises(DeviceStateError, match=f"{event.value} not allowed when"):
            d.fire(event)
        assert d.power is state  # an illegal event changes nothing
    else:
        assert d.fire(event) is want and d.power is want


def test_power_table_every_state_reachable_and_back_up() -> None:
    seen = {Power.UP}
    frontier = [Power.UP]
    while frontier:
        s = frontier.pop()
        for (a, _e), b in TRANSITIONS.items():
            if a is s and b not in seen:
                seen.add(b)
                frontier.append(b)
    assert seen == set(Power)
    # from every state, some path of legal events leads back up
    for s in Power:
        d = _device_in(s)
        for e in (PowerEvent.REBOOTED_CUT_OFF, PowerEvent.UPSTREAM_BACK, PowerEvent.REJOINED):
            if (d.power, e) in TRANSITIONS:
                d.fire(e)
        if d.power is Power.REBOOTING:
            d.fire(PowerEvent.REBOOTED)
            d.fire(PowerEvent.REJOINED)
        assert d.power is Power.UP, s
