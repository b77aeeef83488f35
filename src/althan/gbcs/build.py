"""Building GBCS messages: a payload, its grouping header, and one ``seal``.

Every message is a use-case payload (which knows its own wire layout and, when it belongs to
one use case, its message code) in a grouping header (who sends it to whom, under which
counter, on whose behalf: :func:`message`, or its shorthands :func:`command`, :func:`alert`,
:func:`response_to`), protected by :func:`seal` as GBCS and the DCC Reference Test Data Set
do:

* commands from the DCC Access Control Broker (CS08, CCS01/CCS02, CS03/CS04), sent for a user
  (the supplementary remote party, with that user's counter: the URP pattern), and the
  responses to them: 0xDD form, no signature, a MAC keyed by the two ends' KA keys;
* alerts (CS09, CCS08) and the responses to critical commands: 0xDF form, signed by the
  originator's DS key;
* critical commands (CS02b, CS02d, ECS70): an unsigned *pre-command* (0xDF, no signature field)
  that the user signs, then the ACB MACs.

::

    seal(command(ReadFirmwareVersionCommand(), device, counter,
                 remote_party=user, remote_party_counter=counter),
         ka_private=acb_ka_private, ka_public=device_ka_public)
    seal(response_to(command, ReadFirmwareVersionResponse(version)),
         ka_private=device_ka_private, ka_public=acb_ka_public)
    seal(alert(FirmwareActivationAlert(when, version), device, counter),
         ds_private=device_ds_private)

MAC keys: ``ka_private`` is one end's KA private key, ``ka_public`` the other end's KA public
key, in either direction (see ``crypto``).
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs.codec import U64_MAX, dlms_datetime, encode_length
from althan.gbcs.crypto import apply_mac, sign_message, sign_raw
from althan.gbcs.errors import GbcsCryptoError, GbcsFramingError
from althan.gbcs.frame import GbcsMessage, OtherInformation, decode, encode, encode_grouping
from althan.gbcs.usecases import use_case_name
from althan.gbcs.usecases.base import CraFlag, Payload
from althan.model import DCC_EUI, EUI64


def _check_counter(name: str, value: int) -> None:
    if not 0 <= value <= U64_MAX:
        raise GbcsFramingError(f"{name} {value} does not fit 8 bytes")


def _message_code(payload: Payload, message_code: int | None) -> int:
    own = getattr(payload, "MESSAGE_CODE", None)
    code = message_code if message_code is not None else own
    if not isinstance(code, int):
        raise GbcsFramingError(f"{type(payload).__name__} needs a message_code")
    if own is not None and own != code:
        raise GbcsFramingError(
            f"a {type(payload).__name__} cannot go in a {use_case_name(code)} message"
        )
    return code


def message(
    payload: Payload,
    *,
    cra_flag: CraFlag,
    originator: EUI64,
    target: EUI64,
    counter: int,
    remote_party: EUI64 | None = None,
    remote_party_counter: int | None = None,
    when: datetime | None = None,
    message_code: int | None = None,
) -> GbcsMessage:
    """The unprotected message: ``payload`` in a grouping header. ``remote_party`` and
    ``remote_party_counter``: the supplementary remote party and its counter; ``when``: the
    header date-time (absent if None); ``message_code``: None takes the payload's own
    ``MESSAGE_CODE`` (a payload that serves several use cases, such as a join, a bare response
    code or a DLMS request, needs it)."""
    _check_counter("originator counter", counter)
    code = _message_code(payload, message_code)
    other = OtherInformation(code)
    if remote_party is not None:
        if remote_party_counter is not None:
            _check_counter("remote party counter", remote_party_counter)
        other = OtherInformation(code, remote_party, remote_party_counter)
    return GbcsMessage(
        cra_flag=cra_flag,
        transaction_id=counter,
        originator=originator,
        target=target,
        other_info=other,
        payload=payload,
        date_time_raw=None if when is None else dlms_datetime(when),
    )


def command(
    payload: Payload,
    target: EUI64,
    counter: int,
    *,
    originator: EUI64 = DCC_EUI,
    remote_party: EUI64 | None = None,
    remote_party_counter: int | None = None,
    when: datetime | None = None,
    message_code: int | None = None,
) -> GbcsMessage:
    """A command to ``target``, from the ACB unless ``originator`` says otherwise."""
    return message(
        payload,
        cra_flag=CraFlag.COMMAND,
        originator=originator,
        target=target,
        counter=counter,
        remote_party=remote_party,
        remote_party_counter=remote_party_counter,
        when=when,
        message_code=message_code,
    )


def alert(
    payload: Payload, originator: EUI64, counter: int, *, target: EUI64 = DCC_EUI
) -> GbcsMessage:
    """An alert from ``originator`` (a device or a CHF) to the ACB."""
    return message(
        payload, cra_flag=CraFlag.ALERT, originator=originator, target=target, counter=counter
    )


def response_to(command: GbcsMessage, payload: Payload) -> GbcsMessage:
    """The response to a decoded ``command``: the ends swapped, its counter, message code and
    supplementary remote party (with that party's counter) echoed."""
    if command.cra_flag != CraFlag.COMMAND:
        raise GbcsFramingError(f"not a command: {command.use_case} CRA {int(command.cra_flag)}")
    info = command.other_info
    return message(
        payload,
        cra_flag=CraFlag.RESPONSE,
        originator=command.target,
        target=command.originator,
        counter=command.transaction_id,
        remote_party=info.supplementary_remote_party_id,
        remote_party_counter=info.supplementary_remote_party_counter,
        message_code=command.message_code,
    )


def seal(
    msg: GbcsMessage,
    *,
    ds_private: ec.EllipticCurvePrivateKey | None = None,
    ka_private: ec.EllipticCurvePrivateKey | None = None,
    ka_public: ec.EllipticCurvePublicKey | None = None,
) -> bytes:
    """The message on the wire: signed (when ``ds_private`` is given) then MAC'd (when the KA
    pair is given), encoded."""
    _check_counter("originator counter", msg.transaction_id)
    if (ka_private is None) != (ka_public is None):
        raise GbcsCryptoError("a MAC needs both ka_private and ka_public")
    if ds_private is not None and ka_private is None and msg.security_header is None:
        # the 0xDF form: the grouping encoded once, for the signature and for the wire
        grouping = encode_grouping(msg)
        signature = sign_raw(grouping[1:], ds_private)
        return grouping + encode_length(len(signature)) + signature
    if ds_private is not None:
        msg = sign_message(msg, ds_private)
    if ka_private is not None and ka_public is not None:
        msg = apply_mac(msg, ka_private, ka_public)
    return encode(msg)


# ---------------------------------------------------------------- critical commands
#
# A critical Service Request (6.15.1 CS02b, 6.15.2 CS02d, 8.1.1 ECS70) is transformed by the DSP
# into a pre-command: the user as business originator, the user's RequestID counter as
# transaction ID, and no signature field at all. The user signs it with its GBCS DS key (the
# signed pre-command); the ACB then adds the MAC (ACB KA key with the device's KA key) and sends
# it. The device answers with a response signed by its own DS key.


def precommand(command: GbcsMessage) -> bytes:
    """An unsigned pre-command (0xDF form, no signature length field, no MAC) of a command."""
    if command.cra_flag != CraFlag.COMMAND:
        raise GbcsFramingError(f"not a command: {command.use_case} CRA {int(command.cra_flag)}")
    return encode(command.replace(signature=None, signature_field=False))


def precommand_of(msg: GbcsMessage) -> bytes:
    """The pre-command a (signed, or signed and MAC'd) critical command was made from."""
    bare = msg.replace(signature=None, signature_field=False, mac=None, security_header=None)
    return encode(bare)


def sign_precommand(precommand: bytes, ds_private: ec.EllipticCurvePrivateKey) -> bytes:
    """What the DUIS user does with a pre-command: sign it with its GBCS DS key."""
    msg = decode(precommand)
    if msg.signature_field or msg.mac is not None or msg.cra_flag != CraFlag.COMMAND:
        raise GbcsFramingError(f"not a pre-command: {msg.use_case} CRA {int(msg.cra_flag)}")
    return encode(sign_message(msg, ds_private))


def mac_signed_precommand(
    signed: GbcsMessage,
    *,
    ka_private: ec.EllipticCurvePrivateKey,
    ka_public: ec.EllipticCurvePublicKey,
) -> bytes:
    """The critical command sent on the wire: the signed pre-command MAC'd by the ACB
    (``ka_private`` the ACB's KA private key, ``ka_public`` the target's KA public key)."""
    if signed.signature is None or signed.mac is not None:
        raise GbcsCryptoError("a signed pre-command carries a signature and no MAC")
    return seal(signed, ka_private=ka_private, ka_public=ka_public)
