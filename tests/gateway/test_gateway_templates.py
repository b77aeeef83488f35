"""All 297 DCC reference templates, signed by the reference tool, through the HTTP gateway.

The answers are those of the `sweep` fixture (conftest.py: posted once per run, in file-name
order, to a DSP of its own). `template_codes.csv`, beside this file, pins the HTTP status and
ResponseCode of every template, and the first test compares all 297 exactly: any template
whose answer changes fails it. When a change is meant to move codes (a new SRV handler, or
devices seeded for the templates to address), regenerate the table from a run and review its
diff before committing it:

    ALTHAN_PIN_TEMPLATES=1 .venv/bin/python -m pytest -p no:cacheprovider \\
        tests/gateway/test_gateway_templates.py

That run rewrites template_codes.csv; every other run only compares. The other tests here
check what the codes must mean whatever the table says.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping

from lxml import etree

from althan.dsp import catalogue as C
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64
from althan.runtime.assemble import ZAZ1_TEST_USERS
from gateway_support import Answer, Template, read_pinned, write_pinned

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"
REGISTERED = {eui for eui, _name, _roles in ZAZ1_TEST_USERS} | {ALTHANCO_DEFAULT_EUI}
"""The users register_test_users registers: the only originators the sweep's DSP knows."""


def _header(xml: bytes, name: str) -> str:
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    return (root.findtext(f"{SR}Header/{SR}{name}") or "").strip()


def _originator(t: Template) -> EUI64:
    return EUI64.parse(_header(t.body, "RequestID").split(":")[0])


def test_every_template_gets_the_pinned_answer(sweep: Mapping[str, Answer]) -> None:
    got = {name: (a.status, a.code) for name, a in sweep.items()}
    print(
        "\nresponse codes over the 297 templates:",
        dict(sorted(Counter(c for _s, c in got.values()).items())),
    )
    if os.environ.get("ALTHAN_PIN_TEMPLATES") == "1":
        write_pinned(sweep)
    pinned = read_pinned()
    assert len(pinned) == len(got) == 297
    changed = {
        name: (pinned.get(name), got.get(name))
        for name in sorted(pinned.keys() | got.keys())
        if pinned.get(name) != got.get(name)
    }
    assert not changed, (
        f"{len(changed)} template(s) answered otherwise than template_codes.csv pins "
        f"(pinned, now): {changed}; if that is meant, regenerate it with ALTHAN_PIN_TEMPLATES=1"
    )


def test_every_answer_is_a_catalogue_code_of_a_well_formed_request(
    sweep: Mapping[str, Answer],
) -> None:
    assert {a.status for a in sweep.values()} == {200}
    by_code = Counter(a.code for a in sweep.values())
    assert set(by_code) <= {c.code for c in C.RESPONSE_CODES}, by_code
    # Every template is schema-valid, went to the service its CommandVariant picks and carries
    # a fresh, increasing RequestID counter: no E19, E100 or E12.
    assert by_code["E19"] == by_code["E100"] == by_code["E12"] == 0, by_code


def test_the_6_20_templates_are_schema_valid_and_answered_by_role(
    sweep: Mapping[str, Answer],
) -> None:
    """The four 6.20.x templates were once E19 (the SRV matrix's "6.2" for 6.20): 6.20.1 is
    the suppliers' and not built (E21); 6.20.2 is the export supplier's, and the ZAZ1 test
    supplier is IS/GS (E3)."""
    assert {n: a.code for n, a in sweep.items() if "_6.20." in n} == {
        "ECS39a_6.20.1_SINGLE_SUCCESS_REQUEST_DUIS.XML": "E21",
        "ECS39a_6.20.1_TWIN_SUCCESS_REQUEST_DUIS.XML": "E21",
        "ECS39b_6.20.2_SUCCESS_REQUEST_DUIS.XML": "E3",
        "GCS41_6.20.1_SUCCESS_REQUEST_DUIS.XML": "E21",
    }


def test_e2_exactly_for_originators_that_are_not_registered_users(
    sweep: Mapping[str, Answer], templates: list[Template]
) -> None:
    """E2 answers the templates the reference tool could not sign (their placeholder
    signature's certificate is trusted by no one) and those it signed for an identity that is
    no registered DCC user: the Access Control Broker 90-B3-D5-1F-30-00-00-02 and the ZAZ1
    identity 90-B3-D5-1F-30-03-00-00. No other template gets E2."""
    expected = {t.name for t in templates if t.signed is None or _originator(t) not in REGISTERED}
    assert {n for n, a in sweep.items() if a.code == "E2"} == expected
    assert {str(_originator(t)) for t in templates if t.name in expected} == {
        "90-B3-D5-1F-30-00-00-02",
        "90-B3-D5-1F-30-01-00-08",  # no ZAZ1 signing key in the reference tool
        "90-B3-D5-1F-30-03-00-00",
    }
    assert {t.name for t in templates if t.signed is None} == {
        "ECS47e_7.16_APC_INPUT_SUCCESS_REQUEST_DUIS.XML",
        "ECS47e_7.16_APC_OUTPUT_SUCCESS_REQUEST_DUIS.XML",
    }


def test_built_and_critical_srvs_are_processed_not_refused_as_unsupported(
    sweep: Mapping[str, Answer],
) -> None:
    """In file-name order 12.2 pre-notifies 00-DB-12-34-56-78-90-A0 and 8.4 then withdraws it
    (DeleteDevice); 90-A1, -A2 and -A4 are never pre-notified. The critical SRVs go through the
    transform path and meet those devices: E20 for the withdrawn one (E17 for a network
    operator who is not its own), E5 for an unknown one, never E21."""
    codes = {n: a.code for n, a in sweep.items()}
    assert codes["12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML"] == "I0"
    assert codes["8.4_UPDATE_INVENTORY_REQUEST_DUIS.XML"] == "I0"
    assert codes["8.2_READ_INVENTORY_REQUEST_DUIS.XML"] == "E080201"  # 90-A2: no such device
    krp = [n for n in codes if n.startswith(("CS02bSupplierBySupplier_6.15.1_", "CS02g"))]
    assert len(krp) == 6
    for name in (*krp, "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"):
        assert codes[name] == "E20", name
    assert codes["ECS70Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML"] == "E20"  # 90-A0
    assert codes["GCS28Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML"] == "E5"  # 90-A1
    assert codes["CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"] == "E17"
    # Unsupported SRVs from a registered, eligible user: E21 "not supported".
    assert codes["5.2_READ_SCHEDULE_REQUEST_DUIS.XML"] == "E21"
    assert codes["12.1_REQUEST_WAN_MATRIX_ADDRESS_REQUEST_DUIS.XML"] == "E21"
