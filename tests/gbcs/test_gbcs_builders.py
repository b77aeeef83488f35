"""Building messages (payload + header + seal) against the RTDS: byte-identical where the
crypto is deterministic (GMAC), verifiable where it is not (ECDSA)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs import (
    ALERT_FIRMWARE_TRANSFER_FAILURE,
    CraFlag,
    DeviceLogAddCommand,
    DeviceLogRemoveCommand,
    DlmsAccessResponse,
    FirmwareActivationAlert,
    FirmwareTransferAlert,
    GbcsError,
    GbcsMessage,
    Keystore,
    MessageCode,
    ReadFirmwareVersionCommand,
    ReadFirmwareVersionResponse,
    alert,
    command,
    decode,
    default_invoke_id,
    message,
    response_to,
    seal,
    signed_bytes,
    use_case_name,
    verify_mac,
    verify_signature,
)
from althan.gbcs.usecases import USE_CASES
from althan.model import DCC_EUI, EUI64, TEST_SUPPLIER_EUI, FirmwareVersion
from althan.smki.device_pki import DevicePki

ACB = DCC_EUI
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
    ka_private, ka_public = _acb(keystore), _ka(keystore, device)
    cmd = seal(
        command(
            ReadFirmwareVersionCommand(),
            device,
            counter,
            remote_party=TEST_SUPPLIER_EUI,
            remote_party_counter=srp_counter,
        ),
        ka_private=ka_private,
        ka_public=ka_public,
    )
    assert cmd == ref_cmd
    ok = case == "SUCCESS"
    answer = ReadFirmwareVersionResponse(FirmwareVersion(0x0123ABCD if ok else 0), 0 if ok else 1)
    rsp = seal(
        message(
            answer,
            cra_flag=CraFlag.RESPONSE,
            originator=device,
            target=ACB,
            counter=counter,
            remote_party=TEST_SUPPLIER_EUI,
            remote_party_counter=srp_counter,
        ),
        ka_private=ka_private,
        ka_public=ka_public,
    )
    assert rsp == ref_rsp
    again = seal(response_to(decode(cmd), answer), ka_private=ka_private, ka_public=ka_public)
    assert again == ref_rsp


@pytest.mark.parametrize("case", ["SUCCESS", "ERROR"])
def test_ccs01_ccs02_byte_identical(
    case: str, vectors: dict[str, bytes], keystore: Keystore
) -> None:
    prv, pub = _acb(keystore), _ka(keystore, CHF)
    device = EUI64.parse("00-DB-12-34-56-78-90-A0")

    def log_command(
        ref: GbcsMessage, payload: DeviceLogAddCommand | DeviceLogRemoveCommand
    ) -> bytes:
        srp_counter = ref.other_info.supplementary_remote_party_counter
        msg = command(
            payload,
            CHF,
            ref.transaction_id,
            remote_party=TEST_SUPPLIER_EUI,
            remote_party_counter=srp_counter,
        )
        return seal(msg, ka_private=prv, ka_public=pub)

    def response(ref: GbcsMessage, results: tuple[int, ...] | None = None) -> bytes:
        assert isinstance(ref.payload, DeviceLogAddCommand | DeviceLogRemoveCommand)
        answer = DlmsAccessResponse.answering(ref.payload.to_access(), results)
        return seal(response_to(ref, answer), ka_private=prv, ka_public=pub)

    ref = decode(vectors[f"8.11_CCS01/CCS01_8.11_{case}_COMMAND_GBCS.HEX"])
    invoke_id = default_invoke_id(ref.transaction_id)
    built = log_command(ref, DeviceLogAddCommand(invoke_id, device, b"0123456789ABCDEF"))
    assert built == ref.raw
    ref2 = decode(vectors[f"8.11_CCS02/CCS02_8.11_{case}_COMMAND_GBCS.HEX"])
    built2 = log_command(
        ref2, DeviceLogRemoveCommand(default_invoke_id(ref2.transaction_id), device)
    )
    assert built2 == ref2.raw
    if case == "SUCCESS":
        assert response(ref) == vectors["8.11_CCS01/CCS01_8.11_SUCCESS_RESPONSE_GBCS.HEX"]
        assert response(ref2) == vectors["8.11_CCS02/CCS02_8.11_SUCCESS_RESPONSE_GBCS.HEX"]
    else:
        assert (
            response(ref, (0, 1, 250)) == vectors["8.11_CCS01/CCS01_8.11_ERROR_RESPONSE_GBCS.HEX"]
        )
        assert response(ref2, (1,)) == vectors["8.11_CCS02/CCS02_8.11_ERROR_RESPONSE_GBCS.HEX"]


def test_cs09_alert_matches_rtds_except_signature(vectors: dict[str, bytes]) -> None:
    ref = decode(vectors["NA_CS09/CS09_NA_8F8B_ALERT_GBCS.HEX"])
    pki = DevicePki.generate(1)
    key = pki.key_for(PPMID, "ds")
    built = seal(
        alert(
            FirmwareActivationAlert(WHEN, FirmwareVersion(0x1234ABCD)), PPMID, ref.transaction_id
        ),
        ds_private=key,
    )
    assert built[:-64] == ref.raw[:-64]
    msg = decode(built)
    assert signed_bytes(msg) == signed_bytes(ref)
    assert verify_signature(msg, key.public_key())
    assert not verify_signature(msg, pki.public_key_for(EUI64(1), "ds"))


def test_ccs08_alert_matches_rtds_except_signature(vectors: dict[str, bytes]) -> None:
    ref = decode(vectors["NA_CCS08/CCS08_NA_NA_ALERT_GBCS.HEX"])
    key = DevicePki.generate(2).key_for(CHF, "ds")
    transfer = FirmwareTransferAlert.of(
        entity_id=PPMID, firmware_version=FirmwareVersion(0x0123ABCD), when=WHEN
    )
    built = seal(alert(transfer, CHF, ref.transaction_id), ds_private=key)
    assert built[:-64] == ref.raw[:-64]
    assert verify_signature(decode(built), key.public_key())


def test_ccs08_failure_alert() -> None:
    key = DevicePki.generate(3).key_for(CHF, "ds")
    transfer = FirmwareTransferAlert.of(
        entity_id=PPMID,
        firmware_version=FirmwareVersion(7),
        when=WHEN,
        alert_code=ALERT_FIRMWARE_TRANSFER_FAILURE,
        response_code=3,
    )
    built = seal(alert(transfer, CHF, 5), ds_private=key)
    p = decode(built).payload
    assert isinstance(p, FirmwareTransferAlert)
    assert (p.alert_code, p.response_code) == (0x8F89, 3)
    with pytest.raises(GbcsError, match="0x8F8A or 0x8F89"):
        FirmwareTransferAlert.of(
            entity_id=PPMID, firmware_version=FirmwareVersion(7), when=WHEN, alert_code=0x8F8B
        )


def test_mac_key_pair_is_symmetric_with_generated_pki() -> None:
    pki = DevicePki.generate(9)
    acb_ka, dev_ka = pki.key_for(ACB, "ka"), pki.key_for(PPMID, "ka")
    cmd = seal(
        command(ReadFirmwareVersionCommand(), PPMID, 1),
        ka_private=acb_ka,
        ka_public=dev_ka.public_key(),
    )
    msg = decode(cmd)
    assert verify_mac(msg, private_key=dev_ka, public_key=acb_ka.public_key())
    assert verify_mac(msg, private_key=acb_ka, public_key=dev_ka.public_key())
    other = pki.key_for(EUI64(77), "ka")
    assert not verify_mac(msg, private_key=other, public_key=acb_ka.public_key())


def test_a_payload_that_serves_several_use_cases_is_given_its_message_code() -> None:
    key = DevicePki.generate(4).key_for(PPMID, "ka")
    answer = DlmsAccessResponse(1, (), ())
    with pytest.raises(GbcsError, match="needs a message_code"):
        alert(answer, CHF, 1)
    with pytest.raises(GbcsError, match="cannot go in a CCS01 message"):
        command(ReadFirmwareVersionCommand(), PPMID, 1, message_code=MessageCode.CCS01)
    odd = message(
        answer,
        cra_flag=CraFlag.ALERT,
        originator=CHF,
        target=ACB,
        counter=2,
        message_code=MessageCode.CCS01,
    )
    with pytest.raises(GbcsError, match="not a command"):
        response_to(decode(seal(odd, ds_private=key)), answer)


def test_the_registry_holds_one_row_per_message_code() -> None:
    codes = [uc.code for uc in USE_CASES]
    assert len(codes) == len(set(codes))
    assert use_case_name(MessageCode.CS08) == "CS08"
    assert use_case_name(0x0102) == "CS02b"
    assert use_case_name(MessageCode.ECS70) == "0x0062"  # built, not typed on decode
