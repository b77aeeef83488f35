"""Business requirement 10: han-aware disturbs other HAN devices less than naive (same fleet),
and the simulation is deterministic."""

from __future__ import annotations

from network_support import NEW_VERSION, distribute_all, world

from althan.csp import NetworkMetrics
from althan.han import NetworkConfig, Strategy, generate_fleet

FLEET = generate_fleet(1_000, seed=2024)


def _run(strategy: Strategy, fleet=FLEET) -> NetworkMetrics:  # type: ignore[no-untyped-def]
    w = world(fleet, NetworkConfig(strategy=strategy))
    distribute_all(w, size=16_384)
    w.sim.run()
    for _, b in fleet.bridges():
        assert w.net.device(b.eui).firmware_version == NEW_VERSION
    for h in fleet.homes:
        assert all(w.net.device(d.eui).reachable for d in h.devices())
    return w.net.metrics()


def test_han_aware_beats_naive_on_1000_homes() -> None:
    naive = _run(Strategy.NAIVE).summary()
    aware = _run(Strategy.HAN_AWARE).summary()
    print("\nnaive    ", naive, "\nhan-aware", aware)
    assert naive["homes"] == aware["homes"] == 1_000
    assert aware["median_disruption_min"] < naive["median_disruption_min"]
    assert aware["p95_disruption_min"] < naive["p95_disruption_min"]
    assert aware["p95_lost_messages"] < naive["p95_lost_messages"]
    assert aware["mean_outage_windows"] < naive["mean_outage_windows"]
    assert aware["failures"] == naive["failures"] == 0


def test_same_seed_same_metrics() -> None:
    fleet = generate_fleet(150, seed=3)
    a, b = _run(Strategy.HAN_AWARE, fleet), _run(Strategy.HAN_AWARE, fleet)
    assert a == b
    c = _run(Strategy.NAIVE, fleet)
    assert c != a
