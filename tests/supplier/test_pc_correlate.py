"""`althan pc correlate`: the DSP's real Transform answers to 6.15.2, 6.15.1 and 8.1.1 are
substantively identical to their requests; one field of a pre-command changed (and the answer
re-signed by the DSP's key, so that only the correlation can tell) is named.

The RTDS holds the pre-commands the DCC made for the DUIS templates' requests: CS02d and ECS70
correlate identically; CS02b differs exactly in the replacing certificates (RTDS 4.5.0's GBCS
and the 4.9.1 templates carry different ones) and in nothing else — roles, seq numbers, the
cancellation date mapping, trust anchor cells, certification path and floors all match.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pc_world import A4, ESME, RtdsDsp, T, gbcs_of, rtds_hex, template_body
from typer.testing import CliRunner

from althan import gbcs
from althan.cli import app
from althan.duis.envelope import parse_request
from althan.duis.xmlsafe import parse_xml
from althan.gbcs.codec import dlms_datetime
from althan.model import EUI64
from althan.supplier.correlate import compare

Mutation = Callable[[gbcs.GbcsMessage], gbcs.GbcsMessage]
OTHER_USER = EUI64.parse("90-B3-D5-1F-30-02-00-00")
CS02D_TEMPLATE = "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"
KRP_TEMPLATE = "CS02bSupplierBySupplier_6.15.1_{}_SUCCESS_REQUEST_DUIS.XML"
ECS70_TEMPLATE = "ECS70Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["pc", "correlate", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


@dataclasses.dataclass
class Transform:
    request: Path
    answer: bytes
    world: RtdsDsp

    def precommand(self) -> gbcs.GbcsMessage:
        return gbcs.decode(gbcs_of(self.answer))

    def changed(self, tmp_path: Path, change: Mutation) -> Path:
        f = tmp_path / "changed.xml"
        f.write_bytes(self.world.resign(self.answer, gbcs.encode(change(self.precommand()))))
        return f


def _transform(
    world: RtdsDsp, tmp: Path, reference_dir: Path, srv: str, template: str, target: EUI64
) -> Transform:
    req = world.client.request(srv, 4, template_body(reference_dir, template), target)
    answer = world.send(req)
    assert b"PreCommand" in answer, answer[-600:]
    f = tmp / f"{srv}-request.xml"
    f.write_bytes(req.xml)
    return Transform(f, answer, world)


@pytest.fixture(scope="module")
def cs02d(
    world: RtdsDsp, reference_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Transform:
    return _transform(
        world, tmp_path_factory.mktemp("t"), reference_dir, "6.15.2", CS02D_TEMPLATE, A4
    )


@pytest.fixture(scope="module")
def krp(world: RtdsDsp, reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Transform:
    template = KRP_TEMPLATE.format("CANCELLATION")
    return _transform(world, tmp_path_factory.mktemp("t"), reference_dir, "6.15.1", template, A4)


@pytest.fixture(scope="module")
def ecs70(
    world: RtdsDsp, reference_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Transform:
    return _transform(
        world, tmp_path_factory.mktemp("t"), reference_dir, "8.1.1", ECS70_TEMPLATE, ESME
    )


def _identical(t: Transform, tmp_path: Path) -> None:
    f = tmp_path / "answer.xml"
    f.write_bytes(t.answer)
    code, out, err = run(str(t.request), str(f))
    assert code == 0, out + err
    assert out.startswith("identical: the ")
    code, out, _ = run(str(t.request), str(f), "--json")
    doc = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and doc["identical"] is True and doc["differences"] == []
    assert doc["xml_signature"]["verdict"] == "valid" and doc["exit_code"] == 0


def test_the_dsps_6_15_2_transform_is_identical(cs02d: Transform, tmp_path: Path) -> None:
    _identical(cs02d, tmp_path)


def test_the_dsps_6_15_1_cancellation_transform_is_identical(
    krp: Transform, tmp_path: Path
) -> None:
    """The request's ExecutionDateTime 3000-12-31 is the pre-command's 9999-12-31T23:59:59Z."""
    assert krp.precommand().payload.execution_time == gbcs.CANCELLATION_TIME
    _identical(krp, tmp_path)


def test_the_dsps_8_1_1_transform_is_identical(ecs70: Transform, tmp_path: Path) -> None:
    _identical(ecs70, tmp_path)


def _cert_byte(m: gbcs.GbcsMessage) -> gbcs.GbcsMessage:
    cert = bytearray(m.payload.certificate)
    cert[-5] ^= 0x01
    return m.replace(payload=gbcs.UpdateDeviceCertificateCommand(bytes(cert)))


def _signed(m: gbcs.GbcsMessage) -> gbcs.GbcsMessage:
    return m.replace(signature=bytes(range(64)), signature_field=True)


CS02D_CHANGES: dict[str, tuple[Mutation, set[str]]] = {
    "certificate": (_cert_byte, {"DeviceCertificate"}),
    "target": (lambda m: m.replace(target=ESME), {"RequestID target"}),
    "originator": (lambda m: m.replace(originator=OTHER_USER), {"RequestID originator"}),
    "counter": (lambda m: m.replace(transaction_id=m.transaction_id + 1), {"RequestID counter"}),
    "remote party": (
        lambda m: m.replace(other_info=gbcs.OtherInformation(m.message_code, A4, 5)),
        {"supplementary remote party"},
    ),
    "date-time": (
        lambda m: m.replace(date_time_raw=dlms_datetime(T)),
        {"header date-time"},
    ),
    "signed": (_signed, {"pre-command form"}),
    "message type": (
        lambda m: m.replace(cra_flag=gbcs.CraFlag.ALERT),
        {"message type"},
    ),
}


@pytest.mark.parametrize("name", list(CS02D_CHANGES))
def test_one_field_of_the_6_15_2_precommand_changed_is_named(
    name: str, cs02d: Transform, tmp_path: Path
) -> None:
    change, fields = CS02D_CHANGES[name]
    f = cs02d.changed(tmp_path, change)
    code, out, _ = run(str(cs02d.request), str(f))
    assert code == 1
    assert out.startswith(f"NOT IDENTICAL: {len(fields)} difference(s)")
    for field in fields:
        assert f"\n  {field}: request " in out, out
    code, out, _ = run(str(cs02d.request), str(f), "--json")
    doc = json.loads(out.strip().splitlines()[-1])
    assert code == 1 and doc["identical"] is False and doc["exit_code"] == 1
    assert {d["field"] for d in doc["differences"]} == fields
    assert doc["xml_signature"]["verdict"] == "valid"  # the DSP's key signed the change


def _krp(change: Callable[[gbcs.CredentialsUpdate], gbcs.CredentialsUpdate]) -> Mutation:
    def apply(m: gbcs.GbcsMessage) -> gbcs.GbcsMessage:
        u = change(gbcs.CredentialsUpdate.from_payload(m.payload))
        return m.replace(payload=u.to_payload())

    return apply


def _swap_ka_cert(u: gbcs.CredentialsUpdate) -> gbcs.CredentialsUpdate:
    ds, ka, top_up = u.replacements
    return dataclasses.replace(
        u, replacements=(ds, dataclasses.replace(ka, certificate=ds.certificate), top_up)
    )


KRP_CHANGES: dict[str, tuple[Mutation, set[str]]] = {
    "execution time not mapped": (
        _krp(lambda u: dataclasses.replace(u, execution_time=datetime(3000, 12, 31, tzinfo=UTC))),
        {"ExecutionDateTime"},
    ),
    "seq number": (
        _krp(lambda u: dataclasses.replace(u, seq_number=u.seq_number - 1)),
        {"RequestID counter (authorising seq number)"},
    ),
    "floor": (
        _krp(lambda u: dataclasses.replace(u, floor_seq_number=7)),
        {"RemotePartyFloorSeqNumber"},
    ),
    "time-based CPV": (
        _krp(lambda u: dataclasses.replace(u, apply_time_based_cpv=False)),
        {"ApplyTimeBasedCPVChecks"},
    ),
    "authorising cell": (
        _krp(lambda u: dataclasses.replace(u, authorising_cell=gbcs.TrustAnchorCell(3, "ds"))),
        {"authorising trust anchor cell"},
    ),
    "certificate": (_krp(_swap_ka_cert), {"KeyAgreementCertificate"}),
    "certification path": (
        _krp(lambda u: dataclasses.replace(u, certification_path=())),
        {"CertificationPathCertificates"},
    ),
}


@pytest.mark.parametrize("name", list(KRP_CHANGES))
def test_one_field_of_the_6_15_1_precommand_changed_is_named(
    name: str, krp: Transform, tmp_path: Path
) -> None:
    change, fields = KRP_CHANGES[name]
    code, out, _ = run(str(krp.request), str(krp.changed(tmp_path, change)), "--json")
    doc = json.loads(out.strip().splitlines()[-1])
    assert code == 1 and {d["field"] for d in doc["differences"]} == fields, doc


def _clock(current_shift: int, tolerance: int) -> Mutation:
    def apply(m: gbcs.GbcsMessage) -> gbcs.GbcsMessage:
        current = datetime(2014, 12, 31, 23, 59, 10, tzinfo=UTC) + timedelta(seconds=current_shift)
        return m.replace(payload=gbcs.ecs70_set_clock(current, tolerance, m.transaction_id))

    return apply


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (_clock(0, 60), set()),
        (_clock(1, 60), {"CurrentDateTime"}),
        (_clock(0, 3600), {"TolerancePeriod"}),
        (_clock(-5, 65), {"CurrentDateTime", "TolerancePeriod"}),
    ],
)
def test_the_8_1_1_clock_window_is_compared(
    change: Mutation, fields: set[str], ecs70: Transform, tmp_path: Path
) -> None:
    code, out, _ = run(str(ecs70.request), str(ecs70.changed(tmp_path, change)), "--json")
    doc = json.loads(out.strip().splitlines()[-1])
    assert {d["field"] for d in doc["differences"]} == fields
    assert code == (1 if fields else 0)


def test_the_rtds_precommands_correlate_with_the_duis_templates(reference_dir: Path) -> None:
    def diff(template: str, rtds: str) -> set[str]:
        env = parse_request(parse_xml((reference_dir / "duis/templates" / template).read_bytes()))
        return {d.field for d in compare(env, gbcs.decode(rtds_hex(reference_dir, rtds)))}

    assert diff(CS02D_TEMPLATE, "6.15.2_CS02d/CS02d_6.15.2_SUCCESS_PRECOMMAND_GBCS.HEX") == set()
    assert (
        diff(
            ECS70_TEMPLATE,
            "8.1.1_ECS70Commission/ECS70Commission_8.1.1_SUCCESS_PRECOMMAND_GBCS.HEX",
        )
        == set()
    )
    certs = {"DigitalSigningCertificate", "KeyAgreementCertificate"}
    for kind in ("CANCELLATION", "FUTURE_DATED", "IMMEDIATE"):
        folder = "6.15.1_CS02bSupplierBySupplier/CS02bSupplierBySupplier_6.15.1"
        got = diff(KRP_TEMPLATE.format(kind), f"{folder}_{kind}_SUCCESS_PRECOMMAND_GBCS.HEX")
        assert got == certs | {"KeyAgreementTopUpCertificate"}, kind
    got = diff(
        "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML",
        "6.15.1_CS02bNOByNO/CS02bNOByNO_6.15.1_SUCCESS_PRECOMMAND_GBCS.HEX",
    )
    assert got == certs
