"""`althan duis schema --export`: the overlaid schema lets the stock DCC Boxed reference tool
sign and validate MP170 messages (put first on its class path), which it refuses without."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import etree
from typer.testing import CliRunner

from althan.cli import app
from althan.duis.namespaces import DSIG
from althan.duis.service_requests import RequestBuilder
from althan.model import EUI64, TEST_SUPPLIER_EUI
from althan.smki.zaz1 import load_zaz1

BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]
BRIDGE = EUI64.parse("00-DB-12-34-56-78-B3-01")


def _unsigned_prenotification(tool_jar: Path, tmp_path: Path, variant: str | None) -> Path:
    cert, key = load_zaz1(tool_jar)[TEST_SUPPLIER_EUI]
    req = RequestBuilder(TEST_SUPPLIER_EUI, key, cert).prenotify(
        BRIDGE, manufacturer="1234", model="00840001", variant=variant
    )
    root = etree.fromstring(req.xml)
    sig = root.find(f"{DSIG}Signature")
    assert sig is not None
    root.remove(sig)
    path = tmp_path / f"12.2-{variant}.xml"
    path.write_bytes(etree.tostring(root))
    return path


def test_export_writes_the_overlaid_schema_under_its_own_names(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["duis", "schema", "--export", str(tmp_path / "x")])
    assert r.exit_code == 0, r.output
    main = (tmp_path / "x" / "DUIS Schema V5.1.xsd").read_text()
    assert 'name="AltHANDeviceVariant"' in main
    for code in ("E080724", "E080823", "E120204"):
        assert f'value="{code}"' in main
    assert {p.name for p in (tmp_path / "x").iterdir()} >= {
        "DUIS Schema V5.1.xsd",
        "MMC Schema V5.1.xsd",
        "xmldsig-core-schema.xsd",
    }


def test_the_reference_tool_signs_and_validates_mp170_only_with_the_overlay(
    tool_jar: Path, boxed: BoxedRunner, boxed_mp170: BoxedRunner, tmp_path: Path
) -> None:
    with_variant = _unsigned_prenotification(tool_jar, tmp_path, "B3")
    plain = _unsigned_prenotification(tool_jar, tmp_path, None)
    (stock_rc, _), (stock_plain_rc, _) = boxed("sign", [with_variant, plain])
    assert stock_rc != 0  # the stock 5.1 schema does not know AltHANDeviceVariant
    assert stock_plain_rc == 0
    [(rc, signed)] = boxed_mp170("sign", [with_variant])
    assert rc == 0
    assert b"<sr:AltHANDeviceVariant>B3</sr:AltHANDeviceVariant>" in signed
    signed_file = tmp_path / "signed.xml"
    signed_file.write_bytes(signed)
    [(valid_rc, _)] = boxed_mp170("validate", [signed_file])
    assert valid_rc == 0
