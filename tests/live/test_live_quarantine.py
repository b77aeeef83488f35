"""Anomaly detection on a served DCC (issue 14), over HTTP against `althan serve`, with the
`althan ad` commands run on its data directory while it runs: an 11.4 over the test
supplier's device threshold is quarantined (I99 and N48 at the supplier's endpoint; nothing
sent, no device in progress); released, it runs once at DCC time (its I0, then N55, N56 and
N39 for each device, each once); a second release is refused; a second breach, rejected, is
answered E48 and never runs."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from althan.cli.options import store_url
from althan.duis.namespaces import SR
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.store import open_engine
from althan.store.tables import ad_quarantine, firmware_deliveries, outbox
from althan.zigbee.testimage import build_test_image
from live_support import (
    Endpoint,
    Received,
    Served,
    althan,
    devices,
    dsp_trust,
    supplier_requests,
)

NEW = 0x01000400


def _counts(data: Path) -> tuple[int, int]:
    """(firmware deliveries, SM WAN messages queued for the CSPs)."""
    engine = open_engine(store_url(data, None, create=False))
    with engine.connect() as conn:
        deliveries = conn.execute(select(func.count()).select_from(firmware_deliveries))
        smwan = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.kind == "smwan")
        )
        out = (int(deliveries.scalar_one()), int(smwan.scalar_one()))
    engine.dispose()
    return out


def _held_times(data: Path, ref: int) -> tuple[datetime, datetime]:
    engine = open_engine(store_url(data, None, create=False))
    with engine.connect() as conn:
        q = ad_quarantine.c
        r = conn.execute(select(q.received_at, q.decided_at).where(q.ref == ref)).one()
    engine.dispose()
    return r.received_at, r.decided_at


def test_quarantined_released_once_at_dcc_time_then_rejected(tmp_path: Path) -> None:
    data = tmp_path / "data"
    endpoint = Endpoint(dsp_trust())
    with endpoint.running():
        althan("users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
               "--endpoint", endpoint.url, "--data-dir", str(data))  # fmt: skip
        with Served(data, "--speed", "60", "--fleet", "8", "--seed", "3") as dcc:
            bridges = devices(data, "list", "--type", "PPMID", "--status", "Commissioned",
                              "--supplier", str(TEST_SUPPLIER_EUI))  # fmt: skip
            model, n = Counter(b["model"] for b in bridges if b["variant"]).most_common(1)[0]
            assert n >= 3, bridges
            chosen = [b for b in bridges if b["model"] == model]
            euis = [EUI64.parse(b["eui"]) for b in chosen]
            hw = int(model[4:], 16)
            image = build_test_image(
                int(chosen[0]["manufacturer"], 16), int(model[:4], 16), NEW, min_hw=hw, max_hw=hw
            )
            (tmp_path / "fw.ota").write_bytes(image)
            althan("cpl", "add", str(tmp_path / "fw.ota"), "--as", str(ALTHANCO_DEFAULT_EUI),
                   "--data-dir", str(data))  # fmt: skip
            limit = str(n - 1)
            althan("ad", "set", "--user", str(TEST_SUPPLIER_EUI), "--srv", "11.4",
                   "--max-devices", limit, "--window", "7d", "--data-dir", str(data))  # fmt: skip
            before = _counts(data)

            rb = supplier_requests()
            update = rb.update_ppmid_firmware(image, FirmwareVersion(NEW), euis)
            assert dcc.send(update)[:2] == (200, "I99")
            [n48] = endpoint.wait_for(lambda r: r.alert == "N48")
            held = n48.root.find(f".//{SR}QuarantinedRequest/{SR}ADUserThresholdBreach")
            assert held is not None and held.findtext(f"{SR}RequestID") == update.request_id
            ref = int(held.findtext(f"{SR}QuarantineEventRef") or "0")
            listed = json.loads(
                althan("ad", "quarantine", "list", "--json", "--data-dir", str(data))
                .stdout.strip().splitlines()[-1]
            )  # fmt: skip
            assert [(q["ref"], q["status"], q["devices"]) for q in listed] == [
                (ref, "Quarantined", n)
            ]
            time.sleep(3)  # three DCC minutes: a delivery would have reached its Comms Hub
            assert _counts(data) == before
            assert not [r for r in endpoint.got if r.alert in {"N55", "N56", "N39"}]

            out = althan("ad", "release", str(ref), "--json", "--data-dir", str(data))
            decision = json.loads(out.stdout.strip().splitlines()[-1])
            assert (decision["status"], decision["code"]) == ("Released", "I0")
            received_at, decided_at = _held_times(data, ref)
            assert decided_at >= received_at  # released at DCC time, not the (earlier) real time
            [answer] = endpoint.wait_for(lambda r: r.request_id == update.request_id)
            assert answer.response_code == "I0"
            for code in ("N55", "N56", "N39"):

                def is_alert(r: Received, c: str = code) -> bool:
                    return r.alert == c

                assert len(endpoint.wait_for(is_alert, count=n, timeout=120)) >= n
            again = althan("ad", "release", str(ref), "--data-dir", str(data), check=False)
            assert again.returncode == 1 and "not Quarantined" in again.stderr
            settled = _counts(data)

            second = rb.update_ppmid_firmware(image, FirmwareVersion(NEW), euis)
            assert dcc.send(second)[:2] == (200, "I99")
            [n48b] = endpoint.wait_for(
                lambda r: r.alert == "N48" and second.request_id.encode() in r.xml
            )
            ref2 = int(n48b.text(f".//{SR}QuarantinedRequest//{SR}QuarantineEventRef") or "0")
            out = althan("ad", "reject", str(ref2), "--json", "--data-dir", str(data))
            assert json.loads(out.stdout.strip().splitlines()[-1])["code"] == "E48"
            [refused] = endpoint.wait_for(lambda r: r.request_id == second.request_id)
            assert refused.response_code == "E48"
            time.sleep(2)
            assert _counts(data) == settled
            # each alert once per device (a redelivery would be the same signed bytes again)
            alerts = Counter(r.alert for r in {r.xml: r for r in endpoint.got}.values() if r.alert)
            assert (alerts["N55"], alerts["N56"], alerts["N39"]) == (n, n, n)
