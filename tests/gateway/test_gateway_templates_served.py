"""The 297 DCC reference templates, signed by the reference tool, against a fresh `althan serve`
(issue 11): the test inventory holds the devices the templates address, so no template whose
target (or the device its body names) is in the inventory is answered E5, and nothing is
answered 5xx. The answers are listed per code for the record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from lxml import etree

from althan.model import EUI64
from althan.runtime.inventory import TEMPLATE_DEVICES
from gateway_support import Template, post_all
from live_support import Served, dsp_trust

SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"


def _addressed(t: Template) -> set[EUI64]:
    """The devices a template names: its RequestID's business target and any DeviceID in its
    body."""
    root = etree.fromstring(t.body, etree.XMLParser(resolve_entities=False, no_network=True))
    names = [(root.findtext(f"{SR}Header/{SR}RequestID") or "::").split(":")[1]]
    names += [e.text or "" for e in root.iter(f"{SR}DeviceID")]
    out = set()
    for n in names:
        try:
            out.add(EUI64.parse(n.strip()))
        except ValueError:
            continue
    return out


def test_no_template_addressing_the_inventory_is_e5_and_none_is_5xx(
    templates: list[Template], tmp_path: Path
) -> None:
    inventory = {eui for eui, _t in TEMPLATE_DEVICES}
    with (
        Served(tmp_path / "data", "--fleet", "2") as dcc,
        httpx.Client(base_url=dcc.url, timeout=60) as client,
    ):
        answers = post_all(client, dsp_trust(), templates)
    assert len(answers) == 297
    print("\nserved, response codes over the 297 templates:",
          dict(sorted(Counter(a.code for a in answers.values()).items())))  # fmt: skip
    addressing = [t for t in templates if _addressed(t) & inventory]
    assert len(addressing) > 250, "the templates address the inventory's devices"
    e5 = sorted(t.name for t in addressing if answers[t.name].code == "E5")
    assert e5 == []
    assert all(a.status < 500 for a in answers.values())
