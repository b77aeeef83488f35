"""Bad input to `althan pc`: one `error: …` line on stderr, a distinct exit code, never a
traceback; with --json, also one JSON object (with `error` and `exit_code`) as the last line.

| exit | when |
|---|---|
| 3 | a file cannot be read |
| 4 | not XML (not well-formed, a DTD, too large) |
| 5 | XML, but not the DUIS document expected |
| 6 | no GBCS in it (a DCC alert such as N39 or N42, an acknowledgement, a non-Transform answer) |
| 7 | no SMKI certificate for the device |
| 8 | a key source or trusted certificate cannot be used |
| 10 | `correlate`: not a critical Service Request it knows |
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pc_world import A4, RtdsDsp, template_body
from typer.testing import CliRunner

from althan.cli import app
from althan.cli.pc import EXIT_CODES
from althan.duis.xmldsig import sign


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["pc", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def one_error(code: int, want: int, out: str, err: str, *, json_out: bool = False) -> str:
    assert code == want, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    if json_out:
        doc = json.loads(out.strip().splitlines()[-1])
        assert doc["exit_code"] == want and doc["error"] in EXIT_CODES
    else:
        assert out == ""
    return lines[0]


def write(tmp_path: Path, name: str, data: bytes) -> str:
    f = tmp_path / name
    f.write_bytes(data)
    return str(f)


@pytest.fixture(scope="module")
def documents(world: RtdsDsp, reference_dir: Path) -> dict[str, bytes]:
    """The DSP's own documents without GBCS: the 11.2 acknowledgement (I99), its N42, N39."""
    _req, _resp, (ack, n42) = world.cs08_response(reference_dir)
    return {"I99": ack, "N42": n42, "N39": world.n39(reference_dir)}


@pytest.mark.parametrize("as_json", [False, True])
def test_unreadable_files_are_exit_3(tmp_path: Path, as_json: bool) -> None:
    flags = ["--json"] if as_json else []
    for path in (tmp_path / "missing.xml", tmp_path):
        code, out, err = run("parse", str(path), *flags)
        line = one_error(code, 3, out, err, json_out=as_json)
        assert f"cannot read {path}" in line
    code, out, err = run("correlate", str(tmp_path / "no.xml"), str(tmp_path / "no2.xml"))
    one_error(code, 3, out, err)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01 not xml", b"<sr:Response", b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'],
)
def test_not_xml_is_exit_4(data: bytes, tmp_path: Path) -> None:
    code, out, err = run("parse", write(tmp_path, "x.xml", data))
    assert "not XML" in one_error(code, 4, out, err)


def test_xml_that_is_not_a_duis_response_is_exit_5(reference_dir: Path, tmp_path: Path) -> None:
    request = (reference_dir / "duis/templates/CS08_11.2_SUCCESS_REQUEST_DUIS.XML").read_bytes()
    for data, words in (
        (b"<html><body/></html>", "not in the DUIS namespace"),
        (request, "a DUIS request, not a response or alert"),
        (
            b'<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>',
            "without sr:Header",
        ),
    ):
        code, out, err = run("parse", write(tmp_path, "d.xml", data), "--json")
        assert words in one_error(code, 5, out, err, json_out=True)


@pytest.mark.parametrize("which", ["I99", "N42", "N39"])
def test_a_document_with_no_gbcs_is_exit_6(
    which: str, documents: dict[str, bytes], tmp_path: Path
) -> None:
    code, out, err = run("parse", write(tmp_path, f"{which}.xml", documents[which]), "--json")
    line = one_error(code, 6, out, err, json_out=True)
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc["outcome"] == "no-gbcs"
    assert {c["name"]: c["verdict"] for c in doc["checks"]} == {"xml-signature": "valid"}
    if which == "N39":
        assert "DCC alert N39 carries no GBCS" in line
        assert doc["document"]["fields"]["DCCAlert/PPMIDAlert/DeviceID"] == str(A4)


def test_an_unknown_device_certificate_is_exit_7(reference_dir: Path) -> None:
    """A real DCC Boxed 11.2 response (duis-sign-wrap's sample) for a device whose
    certificates nobody gave us."""
    sample = reference_dir / "duis/samples/signing-tool/readfw-response.xml"
    code, out, err = run("parse", str(sample), "--keystore", str(reference_dir / "gbcs/keystore"))
    line = one_error(code, 7, out, err)
    assert "unknown device certificate" in line and "88-73-84-57-00-2F-96-1E" in line


def test_unusable_key_sources_are_exit_8(tmp_path: Path, cs08_doc: bytes) -> None:
    doc = write(tmp_path, "r.xml", cs08_doc)
    code, out, err = run("parse", doc, "--keystore", str(tmp_path / "nowhere"))
    assert "keystore folder not found" in one_error(code, 8, out, err)
    bad = tmp_path / "keys"
    bad.mkdir()
    (bad / "00db1234567890a4-ds.pem").write_text("-----BEGIN CERTIFICATE-----\nxx\n")
    code, out, err = run("parse", doc, "--keystore", str(bad))
    assert "cannot read key file" in one_error(code, 8, out, err)
    code, out, err = run("parse", doc, "--trust", write(tmp_path, "c.pem", b"not a cert"))
    assert "--trust" in one_error(code, 8, out, err)


def test_a_document_signed_by_someone_else_is_not_valid(
    cs08_doc: bytes, reference_dir: Path, tmp_path: Path
) -> None:
    """--trust names the DSP's certificate: a document it did not sign is not valid (1)."""
    other = reference_dir / "smki/zaz1/xml-sign-90B3D51F30010000-ds.pem"
    code, out, _ = run("parse", write(tmp_path, "r.xml", cs08_doc), "--trust", str(other), "--json")
    doc = json.loads(out.strip().splitlines()[-1])
    assert code == 1 and doc["checks"][0]["verdict"] == "invalid"
    assert doc["checks"][0]["detail"].startswith("UnknownCertificate")


def test_correlate_bad_input(
    world: RtdsDsp, cs08_doc: bytes, reference_dir: Path, tmp_path: Path
) -> None:
    req_11_2 = world.client.read_firmware_version(A4)
    cs02d = world.client.request(
        "6.15.2", 4, template_body(reference_dir, "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"), A4
    )
    answer = world.send(cs02d)
    r11 = write(tmp_path, "11.2.xml", req_11_2.xml)
    r615 = write(tmp_path, "6.15.2.xml", cs02d.xml)
    ans = write(tmp_path, "answer.xml", answer)
    resp = write(tmp_path, "resp.xml", cs08_doc)
    junk = write(tmp_path, "junk.xml", b"\x00junk")
    code, out, err = run("correlate", r11, ans)
    assert "not a critical Service Request" in one_error(code, 10, out, err)
    code, out, err = run("correlate", r615, resp, "--json")
    assert "no sr:PreCommand" in one_error(code, 6, out, err, json_out=True)
    code, out, err = run("correlate", junk, ans)
    one_error(code, 4, out, err)
    code, out, err = run("correlate", resp, ans)
    assert "not a DUIS request" in one_error(code, 5, out, err)
    code, out, err = run("correlate", r615, r11)
    assert "not a DUIS response" in one_error(code, 5, out, err)
    # the answer re-signed by the supplier: every field matches, the DSP did not sign it
    forged = write(tmp_path, "forged.xml", sign(answer, world.client.key, world.client.cert))
    code, out, _ = run("correlate", r615, forged, "--json")
    doc = json.loads(out.strip().splitlines()[-1])
    assert code == 1 and doc["differences"] == [] and doc["xml_signature"]["verdict"] == "invalid"


def test_every_exit_code_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs/supplier.md").read_text()
    for kind, code in EXIT_CODES.items():
        if kind in ("valid", "invalid", "usage"):
            assert f"| {code} | |" in text, kind
        else:
            assert f"| {code} | `{kind}` |" in text, kind
