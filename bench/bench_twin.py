"""The national twin against its crypto floor: `althan simulate` CPU and memory per device.

    .venv/bin/python bench/bench_twin.py [--homes 500 2000] [--strategy han-aware]
        [--seed 2024] [--rounds 5] [--json]

Each fleet size runs in its own child process (`--one`), in-process there, its collector
settled first as `althan simulate` settles it (`althan.runtime.heap`): `run_simulation`
(the real DSP: signed 11.4s, SM WAN messages, GBCS alerts -> signed DUIS N55/N56/N39) over the
simulated network. The child reports its process CPU time for the run (getrusage, user +
system) and its peak RSS. From two sizes come the marginal figures: CPU and KB per device
between the two runs, which leave out what a run costs whatever its size (schemas, keys, the
store's creation).

The floor is measured in a child of its own right before and right after each size's run (best of
`--rounds` each; the figure uses the mean of the two around the largest run, as this machine's
speed drifts by tens of percent within a minute): what one device's rollout messages must cost
in crypto, done with the real code: two GBCS ECDSA signatures made and verified
(the device's CS09 0x8F8B and its CHF's CCS08 0x8F8A, `gbcs.sign_message` /
`gbcs.verify_signature` over the messages `han.gbcs_io` builds), and three DUIS alerts (the
N55, N56 and N39 one device gets in a real run) canonicalised and signed with the DSP's key
and verified against its certificate (`duis.xmldsig.sign` / `verify`).

The final line with `--json`: `twin_cpu_ms_per_device` (largest size, the whole run over its
devices), `twin_cpu_marginal_ms_per_device`, `twin_floor_ms_per_device`,
`twin_kb_per_device` (marginal peak RSS), and the per-size rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from althan import gbcs
from althan.duis.schema import find_tool_jar
from althan.duis.xmldsig import TrustStore, sign, verify
from althan.duis.xmlsafe import parse_xml
from althan.han.gbcs_io import ccs08_alert, cs09_alert
from althan.han.image import TransferResult
from althan.model import DCC_EUI, EUI64
from althan.runtime.heap import settle
from althan.runtime.simulate import NEW_VERSION, rollout, run_simulation
from althan.smki.zaz1 import load_zaz1

HERE = Path(__file__).resolve().parent
FLOOR_ALERTS = ("N55", "N56", "N39")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KB on Linux


def one(homes: int, strategy: str, seed: int) -> dict[str, Any]:
    """Run the twin once in this process: its CPU, wall and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-twin-") as d:
        rss0 = _peak_kb()
        c0, w0 = _cpu(), time.perf_counter()
        settle()  # as `althan simulate` does before its run
        r = run_simulation(homes, strategy, seed, Path(d))
        cpu, wall = _cpu() - c0, time.perf_counter() - w0
    if r.failed:
        raise SystemExit(f"{r.failed} of {r.devices} devices failed")
    return {
        "homes": homes,
        "devices": r.devices,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "peak_rss_kb": _peak_kb(),
        "rss_before_kb": rss0,
        "n39": r.n39_alerts,
    }


def _child(homes: int, strategy: str, seed: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(homes), "--strategy", strategy]
    out = subprocess.run(
        [*cmd, "--seed", str(seed)], check=True, capture_output=True, text=True
    ).stdout
    row: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return row


def _floor_child(seed: int, rounds: int) -> float:
    """The floor, measured in a child process of its own: this process stays small, so the
    size runs it starts do not inherit its peak RSS (Linux keeps ru_maxrss across exec)."""
    cmd = [sys.executable, __file__, "--floor", "--seed", str(seed), "--rounds", str(rounds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["floor_ms"])


class _Keys:
    """The one GBCS DS key every simulated device signs with here (the cost is the same)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def key_for(self, eui: EUI64, usage: str = "ds") -> ec.EllipticCurvePrivateKey:
        return self.key


@dataclass
class FloorInputs:
    gbcs: list[gbcs.GbcsMessage]
    gbcs_key: ec.EllipticCurvePrivateKey
    duis: list[bytes]
    """The three alerts one device got, signed by the DSP (their signature is made again)."""
    dsp_key: ec.EllipticCurvePrivateKey
    dsp_cert: Any
    trust: TrustStore


def floor_inputs(seed: int) -> FloorInputs:
    keys = _Keys()
    chf, device = EUI64.parse("00-DB-12-34-56-78-90-A0"), EUI64.parse("00-DB-12-34-56-78-90-A1")
    now = 1_800_000_000.0
    msgs = [
        gbcs.decode(cs09_alert(device, NEW_VERSION, now, keys, 1)),
        gbcs.decode(ccs08_alert(chf, device, TransferResult.SUCCESS, NEW_VERSION, now, keys, 2)),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-twin-floor-") as d:
        w = rollout(3, "han-aware", seed, Path(d))
        first = w.user.alerts("N39")[0].device
        docs = [
            next(x.xml for x in w.user.alerts(code) if x.device == first) for code in FLOOR_ALERTS
        ]
    zaz1 = load_zaz1(find_tool_jar())
    cert, key = zaz1[DCC_EUI]
    return FloorInputs(msgs, keys.key, docs, key, cert, TrustStore([(DCC_EUI, cert)]))


def floor_ms(f: FloorInputs, rounds: int, n: int = 200) -> float:
    """Best of `rounds`: ms of crypto per device (2 GBCS sign+verify, 3 DUIS sign+verify)."""
    pub = f.gbcs_key.public_key()
    unsigned = []
    for xml in f.duis:
        root = parse_xml(xml)
        for sig in list(root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature")):
            parent = sig.getparent()
            assert parent is not None
            parent.remove(sig)
        unsigned.append(root)
    best = float("inf")
    for _ in range(rounds):
        t0 = _cpu()
        for _ in range(n):
            for m in f.gbcs:
                signed = gbcs.sign_message(m, f.gbcs_key)
                if not gbcs.verify_signature(signed, pub):
                    raise AssertionError("GBCS signature does not verify")
            for root in unsigned:
                verify(sign(root, f.dsp_key, f.dsp_cert), f.trust)
        best = min(best, (_cpu() - t0) / n)
    return best * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--homes", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--strategy", default="han-aware")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one is not None:
        print(json.dumps(one(a.one, a.strategy, a.seed)))
        return
    if a.floor:
        print(json.dumps({"floor_ms": floor_ms(floor_inputs(a.seed), a.rounds)}))
        return
    sizes = sorted(set(a.homes))
    rows = []
    for h in sizes:  # the floor right before and right after each run: the machine drifts
        before = _floor_child(a.seed, a.rounds)
        row = _child(h, a.strategy, a.seed)
        row["floor_ms"] = [round(before, 3), round(_floor_child(a.seed, a.rounds), 3)]
        rows.append(row)
    floor = sum(rows[-1]["floor_ms"]) / 2  # around the largest run, the one the figure is of

    spread = ", ".join(f"{r['floor_ms'][0]:.3f}/{r['floor_ms'][1]:.3f}" for r in rows)
    print(
        f"althan simulate, {a.strategy}, seed {a.seed}; crypto floor {floor:.3f} ms/device "
        f"(before/after each run: {spread})"
    )
    print(
        f"{'homes':>7} {'devices':>8} {'CPU s':>8} {'wall s':>8} {'ms/device':>10} {'peak MB':>8}"
    )
    for r in rows:
        per = r["cpu_s"] * 1e3 / r["devices"]
        print(
            f"{r['homes']:>7,} {r['devices']:>8,} {r['cpu_s']:>8.2f} {r['wall_s']:>8.2f} "
            f"{per:>10.3f} {r['peak_rss_kb'] / 1024:>8.1f}"
        )
    last = rows[-1]
    out: dict[str, Any] = {
        "twin_cpu_ms_per_device": round(last["cpu_s"] * 1e3 / last["devices"], 3),
        "twin_floor_ms_per_device": round(floor, 3),
        "strategy": a.strategy,
        "seed": a.seed,
        "sizes": rows,
    }
    if len(rows) >= 2:
        lo, hi = rows[0], rows[-1]
        dd = hi["devices"] - lo["devices"]
        kb = (hi["peak_rss_kb"] - lo["peak_rss_kb"]) / dd
        cpu = (hi["cpu_s"] - lo["cpu_s"]) * 1e3 / dd
        out["twin_kb_per_device"] = round(kb, 2)
        out["twin_cpu_marginal_ms_per_device"] = round(cpu, 3)
        print(
            f"marginal {lo['homes']:,} -> {hi['homes']:,} homes: {cpu:.3f} ms/device "
            f"({cpu / floor:.2f}x the floor), {kb:.2f} KB/device"
        )
    print(
        f"whole run at {last['homes']:,} homes: {out['twin_cpu_ms_per_device']:.3f} ms/device "
        f"({out['twin_cpu_ms_per_device'] / floor:.2f}x the floor)"
    )
    if a.json:
        print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
