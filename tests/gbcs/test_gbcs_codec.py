"""Property tests of the length codec and the framing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from althan.gbcs import (
    CraFlag,
    FirmwareActivationAlert,
    GbcsError,
    GbcsLengthError,
    GbcsMessage,
    GbcsTruncatedError,
    OtherInformation,
    RawPayload,
    ReadFirmwareVersionResponse,
    decode,
    decode_length,
    encode,
    encode_length,
)
from althan.gbcs.codec import Reader, der_integer, der_time, read_integer, read_time
from althan.gbcs.errors import GbcsPayloadError
from althan.model import EUI64, FirmwareVersion

lengths = st.integers(min_value=0, max_value=(1 << 32) - 1)


@given(lengths)
def test_length_round_trip(n: int) -> None:
    b = encode_length(n)
    assert decode_length(b) == (n, len(b))
    assert decode_length(b + b"\xaa", 0) == (n, len(b))


@given(lengths, st.integers(min_value=1, max_value=4))
def test_length_width_round_trip(n: int, width: int) -> None:
    if n >= 1 << (8 * width):
        with pytest.raises(GbcsLengthError):
            encode_length(n, width)
        return
    b = encode_length(n, width)
    assert len(b) == width + 1
    assert decode_length(b, strict=False) == (n, width + 1)


@given(st.binary(max_size=6))
def test_length_decoder_total(data: bytes) -> None:
    """Any bytes either decode to the canonical encoding or raise a GbcsError."""
    try:
        n, end = decode_length(data)
    except GbcsError:
        return
    assert encode_length(n) == data[:end]


def test_length_errors_name_offsets() -> None:
    with pytest.raises(GbcsLengthError, match=r"non-minimal.*offset 1"):
        decode_length(b"\x00\x81\x05", 1)
    with pytest.raises(GbcsLengthError, match="indefinite"):
        decode_length(b"\x80")
    with pytest.raises(GbcsTruncatedError, match="offset 0"):
        decode_length(b"\x82\x01")


euis = st.integers(min_value=0, max_value=(1 << 64) - 1).map(EUI64)
u64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


@st.composite
def other_infos(draw: st.DrawFn) -> OtherInformation:
    code = draw(st.sampled_from([0x0129, 0x012B, 0x4242]))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return OtherInformation(code)
    if kind == 1:
        return OtherInformation(code, draw(euis))
    if kind == 2:
        return OtherInformation(code, draw(euis), draw(u64))
    return OtherInformation(code, draw(euis), draw(u64), draw(u64))


@st.composite
def messages(draw: st.DrawFn) -> GbcsMessage:
    other = draw(other_infos())
    cra = draw(st.sampled_from(list(CraFlag)))
    payload: object
    if other.message_code == 0x0129 and cra == CraFlag.RESPONSE:
        payload = ReadFirmwareVersionResponse(
            FirmwareVersion(draw(st.integers(0, (1 << 32) - 1))), draw(st.integers(-300, 300))
        )
    elif other.message_code == 0x012B and cra == CraFlag.ALERT:
        when = draw(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1)))
        payload = FirmwareActivationAlert(
            when.replace(microsecond=0, tzinfo=UTC),
            FirmwareVersion(draw(st.integers(0, 99999))),
            draw(st.integers(0, 1)),
        )
    else:
        other = dataclasses.replace(other, message_code=0x4242)
        payload = RawPayload(draw(st.binary(max_size=300)))
    mac_form = draw(st.booleans())
    return GbcsMessage(
        cra_flag=cra,
        transaction_id=draw(u64),
        originator=draw(euis),
        target=draw(euis),
        other_info=other,
        payload=payload,
        date_time_raw=draw(st.none() | st.binary(min_size=12, max_size=12)),
        signature=draw(st.none() | st.binary(min_size=64, max_size=64)),
        mac=draw(st.binary(min_size=12, max_size=12)) if mac_form else None,
        security_header=bytes([0x11]) + draw(st.binary(min_size=4, max_size=4))
        if mac_form
        else None,
    )


@settings(max_examples=300)
@given(messages())
def test_framing_round_trip(msg: GbcsMessage) -> None:
    data = encode(msg)
    back = decode(data)
    assert back.replace(raw=b"") == msg.replace(raw=b"")
    assert encode(back) == data


@pytest.mark.parametrize(
    ("value", "der"),
    [(0, "020100"), (127, "02017f"), (128, "02020080"), (-1, "0201ff"), (-128, "020180"),
     (-129, "0202ff7f"), (-32768, "02028000"), (-32769, "0203ff7fff")],
)  # fmt: skip
def test_integers_encode_minimally_and_read_back(value: int, der: str) -> None:
    """A hypothesis run of test_framing_round_trip found -128 encoded as FF 80 (non-minimal,
    which the reader rightly refuses)."""
    assert der_integer(value).hex() == der
    assert read_integer(Reader(bytes.fromhex(der)), "n") == value


@settings(max_examples=300)
@given(messages(), st.data())
def test_truncated_frames_raise_gbcs_errors(msg: GbcsMessage, data: st.DataObject) -> None:
    raw = encode(msg)
    cut = data.draw(st.integers(0, len(raw) - 1))
    try:
        back = decode(raw[:cut])
    except GbcsError as e:
        assert e.offset is None or 0 <= e.offset <= len(raw)
        return
    # a DF frame cut exactly before its signature field is a valid pre-command
    assert not back.signature_field and raw[0] == 0xDF


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)))
def test_generalized_time_round_trips(when: datetime) -> None:
    when = when.replace(microsecond=0, tzinfo=UTC)
    assert read_time(Reader(der_time(when)), "t") == when


NOT_TIMES = [
    *(b"20261301000000Z", b"20260230000000Z", b"20261203240000Z", b"20261203235960Z"),
    *(b"2026120323595Z", b"20261203235959"),
]


@pytest.mark.parametrize("text", NOT_TIMES)
def test_a_generalized_time_no_calendar_has_is_refused(text: bytes) -> None:
    with pytest.raises(GbcsPayloadError, match=r"GeneralizedTime|invalid date/time"):
        read_time(Reader(bytes([0x18, len(text)]) + text), "t")
