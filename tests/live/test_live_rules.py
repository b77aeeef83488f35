"""A served DCC's refusals and timeouts, over HTTP against `althan serve` (issue 11).

* Bad input: an 11.4 naming a spare device, a Comms Hub that is not commissioned and an
  unknown device lists each in `InvalidDeviceIDList` (W110401, docs/duis.md "11.4 for Alt HAN
  bridges") and sends nothing; an 8.11 on that Comms Hub is E20; the SMI, the device logs and
  the deliveries are as before.
* No request in progress for ever: with no network behind the gateway (nothing ever comes
  back), a second 11.4 to a device in progress lists it in `OtherRequestInProgressList`; the
  first fails by its deadline with N57, after which the device is accepted again; an 11.2
  acknowledged I99 is answered N58 when its command expires.
* The SMKI service on its own port answers DCC Boxed's client, `@smartdcc/dccboxed-keystore`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from lxml import etree
from sqlalchemy import func, select

from althan.cli.options import store_url
from althan.duis.namespaces import SR
from althan.model import ALTHANCO_DEFAULT_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.runtime.inventory import TEMPLATE_DEVICES, UNCOMMISSIONED_CHF
from althan.runtime.scenario import install_code
from althan.store import open_engine
from althan.store.tables import chf_device_log, firmware_deliveries, outbox
from althan.store.tables import devices as devices_table
from althan.zigbee.testimage import build_test_image
from live_support import Endpoint, Served, althan, devices, dsp_trust, supplier_requests

UNKNOWN = EUI64.parse("00-DB-12-34-56-78-FF-77")
NEW = 0x01000300


def _assure_image(tmp_path: Path, data: Path, bridge: dict[str, str]) -> bytes:
    """A new image for `bridge`'s model, assured by AltHANCo (`althan cpl add`)."""
    model = bridge["model"]
    hw = int(model[4:], 16)
    image = build_test_image(
        int(bridge["manufacturer"], 16), int(model[:4], 16), NEW, min_hw=hw, max_hw=hw
    )
    path = tmp_path / f"fw-{bridge['eui']}.ota"
    path.write_bytes(image)
    althan("cpl", "add", str(path), "--as", str(ALTHANCO_DEFAULT_EUI), "--data-dir", str(data))
    return image


def _state(data: Path) -> dict[str, object]:
    """What a refused request must not change: the SMI, the device logs, the deliveries and the
    SM WAN messages queued for the CSPs."""
    engine = open_engine(store_url(data, None, create=False))
    with engine.connect() as conn:
        state: dict[str, object] = {
            t.name: sorted(map(tuple, conn.execute(select(t))), key=repr)
            for t in (devices_table, chf_device_log, firmware_deliveries)
        }
        state["smwan"] = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.kind == "smwan")
        ).scalar_one()
    engine.dispose()
    return state


def _warning_lists(answer: bytes) -> dict[str, str]:
    root = etree.fromstring(answer)
    warning = root.find(f".//{SR}DSPUpdatePPMIDFirmwareWarning")
    assert warning is not None, answer[:600]
    return {etree.QName(e).localname: (e.text or "") for e in warning}


def test_bad_input_gets_the_documented_codes_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Served(data, "--speed", "600", "--fleet", "5", "--seed", "4") as dcc:
        spare = devices(data, "spare")[0]
        image = _assure_image(tmp_path, data, spare)
        rb = supplier_requests()
        before = _state(data)
        listed = [EUI64.parse(spare["eui"]), UNCOMMISSIONED_CHF, UNKNOWN]
        status, code, body = dcc.send(rb.update_ppmid_firmware(image, FirmwareVersion(NEW), listed))
        assert (status, code) == (200, "W110401")
        lists = _warning_lists(body)
        assert set(lists) == {"InvalidDeviceIDList"}
        assert set(lists["InvalidDeviceIDList"].split(",")) == {str(e) for e in listed}

        eui = EUI64.parse(spare["eui"])
        status, code, _ = dcc.send(rb.whitelist(UNCOMMISSIONED_CHF, eui, install_code(eui)))
        assert (status, code) == (200, "E20")
        status, code, _ = dcc.post("S", b"<not-duis/>")
        assert (status, code) == (400, "E19")
        assert _state(data) == before

        # pre-notified, not yet joined: not commissioned
        req = rb.prenotify(
            eui,
            manufacturer=spare["manufacturer"],
            model=spare["model"],
            firmware=FirmwareVersion.parse(spare["firmware_version"]),
            variant=spare["variant"],
        )
        assert dcc.send(req)[:2] == (200, "I0")
        before = _state(data)
        status, code, body = dcc.send(rb.update_ppmid_firmware(image, FirmwareVersion(NEW), [eui]))
        assert (status, code) == (200, "W110401")
        assert _warning_lists(body) == {"NotCommissionedDeviceIDList": str(eui)}
        assert _state(data) == before


def test_no_request_stays_in_progress_for_ever(tmp_path: Path) -> None:
    """600× DCC time: the 2 h delivery timeout is 12 real seconds, the 1 h command timeout 6."""
    data = tmp_path / "data"
    endpoint = Endpoint(dsp_trust())
    with endpoint.running():
        althan("users", "add", "--eui", str(TEST_SUPPLIER_EUI), "--roles", "IS,GS",
               "--endpoint", endpoint.url, "--data-dir", str(data))  # fmt: skip
        with Served(
            data, "--speed", "600", "--fleet", "5", "--seed", "4", "--no-network",
            "--delivery-timeout", "2h", "--command-timeout", "1h",
        ) as dcc:  # fmt: skip
            bridge = devices(data, "list", "--type", "PPMID", "--status", "Commissioned",
                             "--variant", "B2")[0]  # fmt: skip
            eui = EUI64.parse(bridge["eui"])
            image = _assure_image(tmp_path, data, bridge)
            rb = supplier_requests()
            first = rb.update_ppmid_firmware(image, FirmwareVersion(NEW), [eui])
            assert dcc.send(first)[:2] == (200, "I0")
            status, code, body = dcc.send(
                rb.update_ppmid_firmware(image, FirmwareVersion(NEW), [eui])
            )
            assert (status, code) == (200, "W110401")
            assert _warning_lists(body) == {"OtherRequestInProgressList": str(eui)}
            read = rb.read_firmware_version(eui)
            assert dcc.send(read)[:2] == (200, "I99")

            [n58] = endpoint.wait_for(lambda r: r.alert == "N58", timeout=60)
            assert n58.text(f".//{SR}CommandFailure/{SR}CommandRequestID") == read.request_id
            assert n58.text(f".//{SR}CommandFailure/{SR}DeviceID") == str(eui)
            [n57] = endpoint.wait_for(lambda r: r.alert == "N57", timeout=60)
            failure = f".//{SR}FirmwareDistributionFailure/"
            assert n57.text(failure + f"{SR}UpdateFirmwareRequestID") == first.request_id
            assert n57.text(failure + f"{SR}MeterIDs") == str(eui)

            again = rb.update_ppmid_firmware(image, FirmwareVersion(NEW), [eui])
            assert dcc.send(again)[:2] == (200, "I0")
    # each answered once: no second N58 for the 11.2, no second N57 for the first 11.4
    assert [r.alert for r in endpoint.got if r.alert in ("N57", "N58")] == ["N58", "N57"]
    assert endpoint.bad == []


KEYSTORE = """
const ks = require(process.argv[1] + '/@smartdcc/dccboxed-keystore');
(async () => {
  const store = await ks.BoxedKeyStore.new(process.argv[2]);
  try {
    const out = {};
    for (const eui of process.argv.slice(3)) {
      const found = await store.query({eui, keyUsage: ks.KeyUsage.digitalSignature,
                                       lookup: 'certificate'});
      out[eui] = (found || []).map(c => c.certificate.toString());
    }
    console.log(JSON.stringify(out));
  } finally { await store.cleanup(); }
})().catch(e => { console.error(String(e)); process.exit(1); });
"""


def test_dccboxed_keystore_retrieves_certificates_from_the_smki_service(
    tmp_path: Path, node_modules: Path
) -> None:
    """The template PPMID and a fleet bridge (device certificates, by EUI-64) and the test
    supplier (an organisation certificate) from serve's SMKI port."""
    data = tmp_path / "data"
    with Served(data, "--fleet", "3", "--seed", "2", "--no-network") as dcc:
        ppmid = next(e for e, t in TEMPLATE_DEVICES if t.value == "PPMID")
        bridge = EUI64.parse(devices(data, "list", "--variant", "B1")[0]["eui"])
        wanted = [ppmid, bridge, TEST_SUPPLIER_EUI]
        node = shutil.which("node")
        assert node is not None
        out = subprocess.run(
            [node, "-e", KEYSTORE, str(node_modules), f"127.0.0.1:{dcc.smki_port}",
             *(str(e).lower() for e in wanted)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    for eui in wanted:
        pems = got[str(eui).lower()]
        assert pems, f"no certificate of {eui}"
        for pem in pems:
            cert = x509.load_pem_x509_certificate(pem.encode())
            assert eui.compact.lower() in cert_names(cert), (eui, cert.subject)


def cert_names(cert: x509.Certificate) -> str:
    """Every name a certificate carries (subject, SAN values), in lower-case hex as SMKI spells
    EUI-64s."""
    names = [cert.subject.rfc4514_string()]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    for n in san or []:
        names.append(n.value.hex() if isinstance(n, x509.OtherName) else str(n.value))
    return " ".join(names).lower().replace("-", "")
