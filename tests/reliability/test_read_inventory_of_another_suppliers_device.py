"""8.2 Read Inventory by a supplier who is not the device's responsible supplier (issue 12,
defect 6): answered I0 with the device, by decision (docs/duis.md, "8.2 on another supplier's
device").

DUIS's Service Request matrix (`@smartdcc/duis-parser`'s duis-request-matrix.json) names the
service "Read Inventory (Current and Future Suppliers may use this Service Request)" and makes
it eligible to every user role (IS, ES, GS, RSA, ED, GT, OU): a gaining supplier reads the SMI
before a change of supplier, so no "responsible supplier" check applies. What changes the
device stays the responsible supplier's: 8.4 by the same user is E17.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from althan.duis.namespaces import SR
from althan.runtime.assemble import Assembly
from gateway_support import ESME, FakeClock, register_supplier_b, seed_meter, send


def test_8_2_by_another_supplier_is_i0_and_8_4_by_it_is_e17(
    client: TestClient, assembly: Assembly, clock: FakeClock
) -> None:
    seed_meter(assembly, clock())  # the ESME's responsible supplier is the ZAZ1 test supplier
    b = register_supplier_b(assembly, clock())
    code, root = send(client, assembly, b.read_inventory(ESME))
    assert code == "I0"
    listed = [d.findtext(f"{SR}DeviceID") for d in root.iter(f"{SR}Device")]
    assert listed == [str(ESME)]
    code, _ = send(client, assembly, b.update_inventory_variant(ESME, "B1"))
    assert code == "E17"


def test_the_duis_matrix_lets_every_role_read_the_inventory(node_modules: Path) -> None:
    matrix = node_modules / "@smartdcc" / "duis-parser" / "dist" / "duis-request-matrix.json"
    rows = {r["Service Reference Variant"]: r for r in json.loads(matrix.read_text())}
    row = rows["8.2"]
    assert (
        "Current and Future Suppliers may use this Service Request" in row["Service Request Name"]
    )
    assert set(row["Eligible User Roles"]) == {"IS", "ES", "GS", "RSA", "ED", "GT", "OU"}
