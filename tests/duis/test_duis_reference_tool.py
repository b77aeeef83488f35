"""Both directions against the DCC Boxed reference tool (tool.jar), one JVM per batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from althan.duis import envelope as env
from althan.duis.envelope import RequestId, parse_request
from althan.duis.namespaces import sr_element
from althan.duis.schema import DuisSchema
from althan.duis.xmldsig import SignatureInvalid, TrustStore, sign, verify
from althan.duis.xmlsafe import parse_xml
from althan.model import DCC_EUI, EUI64
from althan.smki.zaz1 import Zaz1Keys

BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]


KEY_TEMPLATES = [
    "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML",
    "12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML",
    "CS08_11.2_SUCCESS_REQUEST_DUIS.XML",
    "8.2_READ_INVENTORY_REQUEST_DUIS.XML",
    "8.4_UPDATE_INVENTORY_REQUEST_DUIS.XML",
    "CCS01_8.11_SUCCESS_REQUEST_DUIS.XML",
    "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML",
]
WHEN = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
DEVICE = EUI64.parse("00-DB-12-34-56-78-90-A4")


def _spread(templates_dir: Path, zaz1: Zaz1Keys) -> list[Path]:
    """Key templates plus every 9th one, keeping those whose originator has a ZAZ1 key."""
    all_t = sorted(templates_dir.glob("*.XML"))
    chosen = [templates_dir / n for n in KEY_TEMPLATES if (templates_dir / n).exists()]
    chosen += [t for t in all_t[::9] if t not in chosen]
    out = []
    for t in chosen:
        if parse_request(t.read_bytes()).request_id.originator in zaz1:
            out.append(t)
    assert len(out) >= 35
    return out


def _builder_docs() -> dict[str, etree._Element]:
    rid = RequestId.parse(f"90-B3-D5-1F-30-01-00-00:{DEVICE}:1000")
    alert = sr_element(
        "PPMIDAlert",
        None,
        *[
            sr_element("DeviceID", str(DEVICE)),
            sr_element("DeviceAlertCode", "8F8B"),
            sr_element(
                "PPMIDFirmwareUpgradeAlert",
                None,
                *[
                    sr_element("FirmwareVersion", "0002012F"),
                    sr_element("ActivateImageResultCode", "ActivationSuccess"),
                ],
            ),
        ],
    )
    return {
        "response": env.build_response(
            rid,
            rid.reversed(),
            "I0",
            WHEN,
            service_reference="11.2",
            service_reference_variant="11.2",
            body_children=[sr_element("GBCSPayload", "3QAAAAAAAFURAAAAAN8JAgAAAYKse1oH")],
        ),
        "ack": env.build_acknowledgement(
            rid, WHEN, service_reference="11.4", service_reference_variant="11.4"
        ),
        "error": env.build_acknowledgement(
            rid,
            WHEN,
            service_reference="12.2",
            service_reference_variant="12.2",
            response_code="E120204",
        ),
        "n39": env.build_dcc_alert("N39", WHEN, alert, recipient=rid.originator, counter=7),
        "device_alert": env.build_device_alert(
            "8F8B",
            WHEN,
            b"\xdd\x00\x00\x00\x01",
            device=DEVICE,
            recipient=rid.originator,
            counter=8,
        ),
    }


def test_our_signatures_pass_the_reference_tool(
    boxed: BoxedRunner,
    templates_dir: Path,
    zaz1: Zaz1Keys,
    schema51: DuisSchema,
    tmp_path: Path,
) -> None:
    files: list[Path] = []
    expected: list[int] = []
    for t in _spread(templates_dir, zaz1):
        cert, key = zaz1[parse_request(t.read_bytes()).request_id.originator]
        p = tmp_path / t.name
        p.write_bytes(sign(t.read_bytes(), key, cert))
        files.append(p)
        expected.append(0)
    dsp_cert, dsp_key = zaz1[DCC_EUI]
    for name, doc in _builder_docs().items():
        schema51.validate(doc)
        p = tmp_path / f"built-{name}.xml"
        p.write_bytes(sign(doc, dsp_key, dsp_cert))
        files.append(p)
        expected.append(0)
    # controls that must fail: content changed after signing; an MP170 element (the
    # reference tool has the public 5.1 schema, which knows no AltHANDeviceVariant)
    tampered = files[0].read_bytes().replace(b"</sr:RequestID>", b"1</sr:RequestID>", 1)
    (tmp_path / "tampered.xml").write_bytes(tampered)
    files.append(tmp_path / "tampered.xml")
    expected.append(10)
    t122 = (templates_dir / "12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML").read_bytes()
    mp170 = t122.replace(
        b"<sr:ESMEVariant>AD</sr:ESMEVariant>",
        b"<sr:ESMEVariant>AD</sr:ESMEVariant><sr:AltHANDeviceVariant>B3</sr:AltHANDeviceVariant>",
    )
    cert, key = zaz1["90-B3-D5-1F-30-01-00-00"]
    (tmp_path / "mp170.xml").write_bytes(sign(mp170, key, cert))
    schema51.validate(parse_xml(mp170))
    files.append(tmp_path / "mp170.xml")
    expected.append(10)

    results = boxed("validate", files)
    assert [(f.name, rc) for f, (rc, _) in zip(files, results, strict=True)] == [
        (f.name, e) for f, e in zip(files, expected, strict=True)
    ]
    for (rc, out), f in zip(results, files, strict=True):
        if rc == 0:  # the tool prints the document without its signature
            assert b"SignatureValue" not in out, f.name
            assert b"sr:Header" in out


UNKNOWN_ORIGINATOR = "8.2_READ_INVENTORY_REQUEST_DUIS-unknown-originator.XML"


@pytest.fixture(scope="module")
def tool_signed(
    boxed: BoxedRunner, templates_dir: Path, samples_dir: Path, zaz1: Zaz1Keys
) -> list[tuple[Path, int, bytes]]:
    """The spread of templates and the unknown-originator sample, signed by the reference tool
    in one JVM: (file, exit code, output)."""
    files = [*_spread(templates_dir, zaz1), samples_dir / "duis-sign-wrap" / UNKNOWN_ORIGINATOR]
    return [(f, rc, out) for f, (rc, out) in zip(files, boxed("sign", files), strict=True)]


def test_reference_signatures_verify_with_ours(
    tool_signed: list[tuple[Path, int, bytes]],
    trust: TrustStore,
    schema51: DuisSchema,
    schema54: DuisSchema,
) -> None:
    spread = [(t, rc, out) for t, rc, out in tool_signed if t.name != UNKNOWN_ORIGINATOR]
    assert len(spread) >= 35
    for t, rc, out in spread:
        assert rc == 0, t.name
        v = verify(out, trust)
        env_ = parse_request(v.root)
        assert v.signer.eui == env_.request_id.originator, t.name
        assert env_.request_id == parse_request(t.read_bytes()).request_id  # --preserveCounter
        schema51.validate(v.root)
        schema54.validate(v.root)
        # and a change after the reference tool signed is caught
        root = parse_xml(out)
        rid = root.find("{*}Header/{*}RequestID")
        assert rid is not None and rid.text is not None
        rid.text = rid.text[:-1] + ("7" if rid.text[-1] != "7" else "8")
        with pytest.raises(SignatureInvalid, match="digest"):
            verify(root, trust)


def test_reference_tool_refuses_unknown_originator(
    tool_signed: list[tuple[Path, int, bytes]],
) -> None:
    [rc] = [rc for t, rc, _ in tool_signed if t.name == UNKNOWN_ORIGINATOR]
    assert rc != 0
