"""Builders against the RTDS: byte-identical where the crypto is deterministic (GMAC),
verifiable where it is not (ECDSA)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs import (
    ALERT_FIRMWARE_TRANSFER_FAILURE,
    FirmwareTransferAlert,
    GbcsError,
    Keystore,
    build_ccs01_command,
    build_ccs02_command,
    build_ccs08_alert,
    build_cs08_command,
    build_cs08_response,
    build_cs08_response_to,
    build_cs09_alert,
    build_device_log_response_to,
    decode,
    signed_bytes,
    verify_mac,
    verify_signature,
)
from althan.model import ACCESS_CONTROL_BROKER_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.smki.device_pki import DevicePki

ACB = ACCESS_CONTROL_BROKER_EUI
PPMID = EUI64.parse("00-DB-12-34-56-78-90-A4")
CHF = EUI64.parse("00-DB-12-34-56-78-90-A2")
WHEN = datetime(2015, 1, 1, tzinfo=UTC)


def _ka(ks: Keystore, eui: EUI64) -> ec.EllipticCurvePublicKey:
    pub = ks.public_key(eui, "ka")
    assert pub is not None
    return pub


def _acb(ks: Keystore) -> ec.EllipticCurvePrivateKey:
    prv = ks.private_key(ACB, "ka")
    assert prv is not None
    return prv


@pytest.mark.parametrize("case", ["SUCCESS", "ERROR"])
def test_cs08_command_and_response_byte_identical(
    case: str, vectors: dict[str, bytes], keystore: Keystore
) -> None:
    ref_cmd = vectors[f"11.2_CS08/CS08_11.2_{case}_COMMAND_GBCS.HEX"]
    ref_rsp = vectors[f"11.2_CS08/CS08_11.2_{case}_RESPONSE_GBCS.HEX"]
    device = decode(ref_cmd).target
    counter = decode(ref_cmd).transaction_id
    srp_counter = decode(ref_cmd).other_info.supplementary_remote_party_counter
    cmd = build_cs08_command(
        target=device,
        counter=counter,
        remote_party=TEST_SUPPLIER_EUI,
        remote_party_counter=srp_counter,
        ka_private=_acb(keystore),
        ka_public=_ka(keystore, device),
    )
    assert cmd == ref_cmd
    ok = case == "SUCCESS"
    rsp = build_cs08_response(
        device=device,
        counter=counter,
        remote_party=TEST_SUPPLIER_EUI,
        remote_party_counter=srp_counter,
        firmware_version=FirmwareVersion(0x0123ABCD if ok else 0),
        response_code=0 if ok else 1,
        ka_private=_acb(keystore),
        ka_public=_ka(keystore, device),
    )
    assert rsp == ref_rsp
    again = build_cs08_response_to(
        decode(cmd),
        firmware_version=FirmwareVersion(0x0123ABCD if ok else 0),
        response_code=0 if ok else 1,
        ka_private=_acb(keystore),
        ka_public=_ka(keystore, device),
    )
    assert again == ref_rsp


@pytest.mark.parametrize("case", ["SUCCESS", "ERROR"])
def test_ccs01_ccs02_byte_identical(
    case: str, vectors: dict[str, bytes], keystore: Keystore
) -> None:
    prv, pub = _acb(keystore), _ka(keystore, CHF)
    ref = decode(vectors[f"8.11_CCS01/CCS01_8.11_{case}_COMMAND_GBCS.HEX"])
    built = build_ccs01_command(
        chf=CHF,
        device_id=EUI64.parse("00-DB-12-34-56-78-90-A0"),
        install_code=b"0123456789ABCDEF",
        counter=ref.transaction_id,
        remote_party=TEST_SUPPLIER_EUI,
        remote_party_counter=ref.other_info.supplementary_remote_party_counter,
        ka_private=prv,
        ka_public=pub,
    )
    assert built == ref.raw
    ref2 = decode(vectors[f"8.11_CCS02/CCS02_8.11_{case}_COMMAND_GBCS.HEX"])
    built2 = build_ccs02_command(
        chf=CHF,
        device_id=EUI64.parse("00-DB-12-34-56-78-90-A0"),
        counter=ref2.transaction_id,
        remote_party=TEST_SUPPLIER_EUI,
        remote_party_counter=ref2.other_info.supplementary_remote_party_counter,
        ka_private=prv,
        ka_public=pub,
    )
    assert built2 == ref2.raw
    if case == "SUCCESS":
        assert (
            build_device_log_response_to(ref, ka_private=prv, ka_public=pub)
            == vectors["8.11_CCS01/CCS01_8.11_SUCCESS_RESPONSE_GBCS.HEX"]
        )
        assert (
            build_device_log_response_to(ref2, ka_private=prv, ka_public=pub)
            == vectors["8.11_CCS02/CCS02_8.11_SUCCESS_RESPONSE_GBCS.HEX"]
        )
    else:
        assert (
            build_device_log_response_to(ref, ka_private=prv, ka_public=pub, results=(0, 1, 250))
            == vectors["8.11_CCS01/CCS01_8.11_ERROR_RESPONSE_GBCS.HEX"]
        )
        assert (
            build_device_log_response_to(ref2, ka_private=prv, ka_public=pub, results=(1,))
            == vectors["8.11_CCS02/CCS02_8.11_ERROR_RESPONSE_GBCS.HEX"]
        )


def test_cs09_alert_matches_rtds_except_signature(vectors: dict[str, bytes]) -> None:
    ref = decode(vectors["NA_CS09/CS09_NA_8F8B_ALERT_GBCS.HEX"])
    pki = DevicePki.generate(1)
    key = pki.key_for(PPMID, "ds")
    built = build_cs09_alert(
        device=PPMID,
        firmware_version=FirmwareVersion(0x1234ABCD),
        when=WHEN,
        counter=ref.transaction_id,
        device_ds_key=key,
    )
    assert built[:-64] == ref.raw[:-64]
    msg = decode(built)
    assert signed_bytes(msg) == signed_bytes(ref)
    assert verify_signature(msg, key.public_key())
    assert not verify_signature(msg, pki.public_key_for(EUI64(1), "ds"))


def test_ccs08_alert_matches_rtds_except_signature(vectors: dict[str, bytes]) -> None:
    ref = decode(vectors["NA_CCS08/CCS08_NA_NA_ALERT_GBCS.HEX"])
    key = DevicePki.generate(2).key_for(CHF, "ds")
    built = build_ccs08_alert(
        chf=CHF,
        entity_id=PPMID,
        firmware_version=FirmwareVersion(0x0123ABCD),
        when=WHEN,
        counter=ref.transaction_id,
        chf_ds_key=key,
    )
    assert built[:-64] == ref.raw[:-64]
    assert verify_signature(decode(built), key.public_key())


def test_ccs08_failure_alert() -> None:
    key = DevicePki.generate(3).key_for(CHF, "ds")
    built = build_ccs08_alert(
        chf=CHF,
        entity_id=PPMID,
        firmware_version=FirmwareVersion(7),
        when=WHEN,
        counter=5,
        chf_ds_key=key,
        alert_code=ALERT_FIRMWARE_TRANSFER_FAILURE,
        response_code=3,
    )
    p = decode(built).payload
    assert isinstance(p, FirmwareTransferAlert)
    assert (p.alert_code, p.response_code) == (0x8F89, 3)
    with pytest.raises(GbcsError, match="0x8F8A or 0x8F89"):
        build_ccs08_alert(
            chf=CHF,
            entity_id=PPMID,
            firmware_version=FirmwareVersion(7),
            when=WHEN,
            counter=5,
            chf_ds_key=key,
            alert_code=0x8F8B,
        )


def test_mac_key_pair_is_symmetric_with_generated_pki() -> None:
    pki = DevicePki.generate(9)
    acb_ka, dev_ka = pki.key_for(ACB, "ka"), pki.key_for(PPMID, "ka")
    cmd = build_cs08_command(
        target=PPMID, counter=1, ka_private=acb_ka, ka_public=dev_ka.public_key()
    )
    msg = decode(cmd)
    assert verify_mac(msg, private_key=dev_ka, public_key=acb_ka.public_key())
    assert verify_mac(msg, private_key=acb_ka, public_key=dev_ka.public_key())
    other = pki.key_for(EUI64(77), "ka")
    assert not verify_mac(msg, private_key=other, public_key=acb_ka.public_key())
