"""Business requirement 10: han-aware disturbs other HAN devices less than naive (same fleet),
and the simulation is deterministic. The figures of the requirement-10 tables in
docs/network.md and docs/benchmarks.md are the ones this run gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from network_support import NEW_VERSION, distribute_all, world

from althan.csp import NetworkMetrics
from althan.han import Fleet, NetworkConfig, Strategy, generate_fleet

FLEET = generate_fleet(1_000, seed=2024)
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _table(doc: str, heading: str) -> dict[str, list[str]]:
    """The naive / han-aware rows of the first table after ``heading`` in docs/``doc``."""
    text = (DOCS / doc).read_text()
    section = text[text.index(heading) :]
    rows = {}
    for name in ("naive", "han-aware"):
        m = re.search(rf"^\| {name} \|(.*)\|$", section, re.M)
        assert m is not None, f"{doc}: no {name} row after {heading!r}"
        rows[name] = [c.strip().strip("*").strip() for c in m[1].split("|")]
    return rows


def _minutes(x: float) -> str:
    return f"{x:.2f} min"


def _run(strategy: Strategy, fleet: Fleet = FLEET) -> NetworkMetrics:
    w = world(fleet, NetworkConfig(strategy=strategy))
    distribute_all(w, size=16_384)
    w.sim.run()
    for _, b in fleet.bridges():
        assert w.net.device(b.eui).firmware_version == NEW_VERSION
    for h in fleet.homes:
        assert all(w.net.device(d.eui).reachable for d in h.devices())
    return w.net.metrics()


@pytest.mark.slow
def test_han_aware_beats_naive_on_1000_homes_with_the_documented_figures() -> None:
    naive = _run(Strategy.NAIVE).summary()
    aware = _run(Strategy.HAN_AWARE).summary()
    assert naive["homes"] == aware["homes"] == 1_000
    assert naive["devices_completed"] == aware["devices_completed"] == 2_204
    assert sum(1 for _ in FLEET.bridges()) == 2_204  # "2,204 bridges"
    assert aware["median_disruption_min"] < naive["median_disruption_min"]
    assert aware["p95_disruption_min"] < naive["p95_disruption_min"]
    assert aware["p95_lost_messages"] < naive["p95_lost_messages"]
    assert aware["mean_outage_windows"] < naive["mean_outage_windows"]
    assert aware["failures"] == naive["failures"] == 0
    network = _table("network.md", "## Requirement 10")
    bench = _table("benchmarks.md", "## Network model")
    for name, got in (("naive", naive), ("han-aware", aware)):
        median, p95 = _minutes(got["median_disruption_min"]), _minutes(got["p95_disruption_min"])
        lost, windows = f"{got['p95_lost_messages']:.0f}", f"{got['mean_outage_windows']:.2f}"
        makespan = f"{got['makespan_s']:,.0f} s"
        assert network[name] == [
            median,
            p95,
            _minutes(got["mean_disruption_min"]),
            lost,
            windows,
            makespan,
        ], name
        assert bench[name] == [median, p95, lost, windows, makespan], name


def test_same_seed_same_metrics() -> None:
    fleet = generate_fleet(150, seed=3)
    a, b = _run(Strategy.HAN_AWARE, fleet), _run(Strategy.HAN_AWARE, fleet)
    assert a == b
    c = _run(Strategy.NAIVE, fleet)
    assert c != a
