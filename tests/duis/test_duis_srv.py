"""The SRV matrix as althan reads it from duis-parser: every Service Reference is the one the
DUIS schema names for the variant, including the "6.20" that the matrix's own column spells
"6.2"."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from althan.duis.srv import MatrixError, SrvMatrix, read_matrix, service_reference_of

XS = "{http://www.w3.org/2001/XMLSchema}"


def _enumeration(xsd: Path, simple_type: str) -> list[str]:
    root = etree.parse(str(xsd), etree.XMLParser(resolve_entities=False, no_network=True))
    found = root.findall(f"{XS}simpleType[@name='{simple_type}']")
    assert len(found) == 1, (xsd.name, simple_type)
    return [str(e.get("value")) for e in found[0].iter(f"{XS}enumeration")]


@pytest.mark.parametrize("version", ["5.1", "5.4"])
def test_every_srv_has_the_service_reference_the_schema_names(
    reference_dir: Path, version: str
) -> None:
    xsd = reference_dir / "duis" / "schema" / version / f"DUIS Schema V{version}.xsd"
    references = set(_enumeration(xsd, "ServiceReference"))
    variants = _enumeration(xsd, "ServiceReferenceVariant")
    # the schema's own pairing: each variant's first two numbers are one of its references
    assert {service_reference_of(v) for v in variants} <= references
    matrix = SrvMatrix.load()
    assert len(matrix) == 129
    wrong = {
        v: s.reference
        for v, s in matrix.items()
        if s.reference not in references
        or s.reference != service_reference_of(v)
        or (v != s.reference and not v.startswith(s.reference + "."))
    }
    assert not wrong, wrong
    assert set(matrix) <= set(variants)


def test_the_6_20_variants_are_of_service_reference_6_20() -> None:
    """duis-request-matrix.json lists 6.20.1 and 6.20.2 under "6.2" (a spreadsheet read the
    reference as the number 6.2); the variants' reference is "6.20", and 6.2.x stays 6.2."""
    m = SrvMatrix.load()
    assert m["6.20.1"].reference == "6.20"
    assert m["6.20.2"].reference == "6.20"
    assert m["6.2.10"].reference == "6.2"
    assert m["4.10"].reference == "4.10"
    assert m["6.30"].reference == "6.30"
    assert m["7.10"].reference == "7.10"
    # every reference with a trailing zero keeps it
    assert {s.reference for s in m.values() if s.reference.endswith("0")} == {
        "4.10",
        "6.20",
        "6.30",
        "7.10",
    }


ROW = {
    "Service Request Name": "Set Device Configuration (Import MPxN)",
    "Service Reference": "6.2",
    "Service Reference Variant": "6.20.1",
    "Critical": "No",
    "On Demand": "Yes",
    "Future Dated Response Pattern": "DSP",
    "DCC Scheduled": "No",
    "Non-Device Request": "No",
    "Eligible User Roles": ["IS", "GS"],
}


def test_a_reference_read_as_a_number_is_restored_and_any_other_disagreement_refused() -> None:
    assert read_matrix([ROW])["6.20.1"].reference == "6.20"
    assert read_matrix([{**ROW, "Service Reference": "6.20"}])["6.20.1"].reference == "6.20"
    for listed in ("6.21", "6.2.0", "6", "six"):
        with pytest.raises(MatrixError, match=r"SRV 6\.20\.1 is listed under Service Reference "):
            read_matrix([{**ROW, "Service Reference": listed}])
