"""`althan simulate --faults PLAN --seeds A..B`: the rollout under a seeded fault plan, once per
seed, each run checked for the invariants (runtime/invariants.py); the same seed replays bit
for bit; bad input gets a readable error and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_simulate_cli import _flat, _invoke

from althan.runtime.fault_plan import NAMED_PLANS, FaultPlan, LinkFault
from althan.runtime.invariants import check, observe
from althan.runtime.simulate import rollout
from althan.runtime.sweep import run_seed


@pytest.mark.slow
def test_a_seed_replays_bit_for_bit(tmp_path: Path) -> None:
    plan = NAMED_PLANS["harsh"]
    a = run_seed(plan, 5, 25, tmp_path / "a")
    b = run_seed(plan, 5, 25, tmp_path / "b")
    assert (a.ok, a.broken, a.digest, a.deliveries) == (b.ok, b.broken, b.digest, b.deliveries)
    c = run_seed(plan, 6, 25, tmp_path / "c")
    assert c.digest != a.digest


@pytest.mark.slow
def test_a_broken_seed_fails_the_sweep_and_replays(tmp_path: Path) -> None:
    """A plan no protocol can survive (every CS09 lost for good) breaks an invariant: the
    sweep says which, exits 1, and the seed gives the same verdict again."""
    plan = {"link_loss": [{"sender": "csp:", "receiver": "dsp", "probability": 1.0}]}
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(plan))
    runs = []
    for _ in range(2):
        r = _invoke("--faults", str(path), "--seeds", "3..3", "--homes", "3", "--json")
        assert r.exit_code == 1, r.output
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    assert runs[0] == runs[1]
    (seed,) = runs[0]["seeds"]
    assert runs[0]["ok"] is False and seed["ok"] is False and seed["seed"] == 3
    # the devices activated; the DSP, told nothing, timed them out and kept the old version
    assert seed["broken"].startswith("smi-version: "), seed["broken"]
    assert "runs 01000200, the SMI says 01000000" in seed["broken"]


@pytest.mark.slow
def test_a_json_plan_file_runs(tmp_path: Path) -> None:
    plan = FaultPlan(links=(LinkFault("dsp", "user:", loss=0.3, duplicate=0.3),), dsp_crashes=1)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_json()))
    r = _invoke("--faults", str(path), "--seeds", "1..2", "--homes", "5", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout.strip().splitlines()[-1])
    assert doc["ok"] is True and [s["seed"] for s in doc["seeds"]] == [1, 2]


def test_image_bytes_reaches_the_sweeps_runs() -> None:
    """--image-bytes with --faults: each seed's rollout carries that image (its digest moves),
    the same one again gives the same digest."""

    def digest(*image: str) -> str:
        r = _invoke("--faults", "none", "--seeds", "2..2", "--homes", "3", "--json", *image)
        assert r.exit_code == 0, r.output
        (seed,) = json.loads(r.stdout.strip().splitlines()[-1])["seeds"]
        return str(seed["digest"])

    assert digest("--image-bytes", "8192") == digest("--image-bytes", "8192")
    assert digest("--image-bytes", "8192") != digest()  # the sweep's default is 4096


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--faults", "default", "--image-bytes", "20000000"), "at most 10,240,000"),
        (("--faults", "gentle"), "no fault plan 'gentle': not one of none, default"),
        (("--faults", "default", "--seeds", "5..1"), "seed range '5..1' ends before it starts"),
        (("--faults", "default", "--seeds", "a..b"), "seeds must be A..B or A"),
        (("--faults", "default", "--seeds", "-3..2"), "seeds must be A..B or A"),
        (("--seeds", "1..2", "--homes", "0"), "Invalid value for '--homes'"),
    ],
)
def test_bad_input_is_refused_readably(args: tuple[str, ...], message: str) -> None:
    r = _invoke(*args)
    assert r.exit_code == 2
    assert message in _flat(r.output)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not a fault plan"),
        ('{"loss": 0.1}', "unknown fault plan keys: loss"),
        ('{"links": [{"sender": "dsp", "receiver": "csp:", "loss": 2}]}', "probability"),
        ('{"links": [{"sender": "dsp", "receiver": "csp:", "lose": 1}]}', "unknown link fault"),
        ('{"dsp_crashes": -1}', "dsp_crashes must be >= 0"),
        ("[1, 2]", "a JSON object is expected"),
    ],
)
def test_a_bad_plan_file_is_refused_readably(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text)
    r = _invoke("--faults", str(path), "--seeds", "1..1")
    assert r.exit_code == 2
    assert message in _flat(r.output)


@pytest.mark.slow
def test_the_dsp_crashes_mid_rollout_and_a_new_one_on_its_store_finishes_it(
    tmp_path: Path,
) -> None:
    """kill -9 and restart from the store: the new DSP takes the redelivered last message
    (its inbox drops it) and what waited while it was down; the invariants hold."""
    plan = FaultPlan(dsp_crashes=2, dsp_down_s=300.0, window_s=600.0)
    w = rollout(5, "han-aware", 4, tmp_path, payload_size=4096, faults=plan.with_seed(4))
    first = w.assembly.dsp
    assert w.dsp_node.crashes >= 1 and w.dsp is not first and not w.dsp_node.down
    assert w.injector.counts.dsp_crashes == 2
    s = observe(w)
    assert check(s) is None
    assert {d.state for d in s.deliveries} == {"Activated"}
