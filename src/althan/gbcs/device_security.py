"""The device's side of GBCS security: believe a critical command only when it carries the ACB's
MAC and its remote party's signature, keep the remote parties' trust anchors, and carry out a
CS02b replacement of them (GBCS "Update Security Credentials").

A device keeps its trust anchors in a ``credentials`` mapping (str -> DER bytes) that it owns:
a remote party's replaced public key (SubjectPublicKeyInfo) under :func:`credential_key`
("ds:<EUI>", "ka:<EUI>", "ka-topup:<EUI>") and its certificate under the same key with "-cert"
after the usage ("ds-cert:<EUI>"); a future-dated CS02b waits under "cs02b-pending". The
anchors installed at commissioning are not in it: the caller supplies them.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from althan.gbcs.crypto import verify_mac, verify_signature
from althan.gbcs.errors import GbcsPayloadError, GbcsRefusedError
from althan.gbcs.frame import GbcsMessage
from althan.gbcs.usecases.cs02b import (
    CANCELLATION_TIME,
    KRP_MODES,
    STATUS_BAD_CERTIFICATE,
    STATUS_SUCCESS,
    STATUS_TRUST_ANCHOR_NOT_FOUND,
    CredentialsUpdate,
    ReplacementOutcome,
    TrustAnchorReplacement,
    UpdateSecurityCredentialsCommand,
    UpdateSecurityCredentialsResponse,
    cs02b_execution_outcome,
)
from althan.model import EUI64

Credentials = MutableMapping[str, bytes]

_X500_UNIQUE_IDENTIFIER = x509.ObjectIdentifier("2.5.4.45")
_PENDING_CS02B = "cs02b-pending"
_ROLE_OF_MODE = {mode: role for role, mode in KRP_MODES.items()}


def authenticate_critical(
    command: GbcsMessage,
    *,
    device_ka: ec.EllipticCurvePrivateKey,
    acb_ka: ec.EllipticCurvePublicKey,
    originator_ds: ec.EllipticCurvePublicKey | None,
) -> None:
    """Raise GbcsRefusedError unless ``command`` carries the ACB's MAC (checked with the
    device's KA private key and the ACB's KA public key) and the signature of its business
    originator with ``originator_ds``, the DS key the device trusts for that remote party."""
    if not verify_mac(command, private_key=device_ka, public_key=acb_ka):
        raise GbcsRefusedError("ACB MAC not valid")
    if originator_ds is None or not verify_signature(command, originator_ds):
        raise GbcsRefusedError(f"signature of {command.originator} not valid")


def credential_key(usage: str, top_up: bool, eui: EUI64) -> str:
    """Where a device keeps a remote party's trust anchor public key in its credentials."""
    return f"{usage}{'-topup' if top_up else ''}:{eui}"


def _cert_key(usage: str, top_up: bool, eui: EUI64) -> str:
    u, _, e = credential_key(usage, top_up, eui).partition(":")
    return f"{u}-cert:{e}"


def replaced_ds_key(credentials: Credentials, eui: EUI64) -> ec.EllipticCurvePublicKey | None:
    """The DS key of remote party ``eui`` that a CS02b installed, if any (the one installed at
    commissioning is the caller's to know)."""
    der = credentials.get(credential_key("ds", False, eui))
    key = serialization.load_der_public_key(der) if der is not None else None
    return key if isinstance(key, ec.EllipticCurvePublicKey) else None


def subject_eui(cert: x509.Certificate) -> EUI64 | None:
    """The EUI-64 in a SMKI certificate's subject ``x500UniqueIdentifier`` (a BIT STRING with
    no unused bits), or None (also for a subject the library cannot read: cryptography parses
    it on first use, and refuses a BIT STRING attribute of another type with TypeError)."""
    try:
        attrs = cert.subject.get_attributes_for_oid(_X500_UNIQUE_IDENTIFIER)
    except (ValueError, TypeError):
        return None
    raw = attrs[0].value if attrs else None
    if isinstance(raw, bytes) and len(raw) == 9 and raw[0] == 0:
        return EUI64.from_bytes(raw[1:])
    return None


def _ski(cert: x509.Certificate) -> bytes:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return b""


def _key_id(pub: ec.EllipticCurvePublicKey) -> bytes:
    return x509.SubjectKeyIdentifier.from_public_key(pub).digest[:8]


def _usable(cert: x509.Certificate, usage: str) -> bool:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ku.digital_signature if usage == "ds" else ku.key_agreement


def _issued_by_path(cert: x509.Certificate, path: list[x509.Certificate]) -> bool:
    for ca in path:
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def _replace_one(
    rep: TrustAnchorReplacement,
    role: int,
    path: list[x509.Certificate],
    originator: EUI64,
    credentials: Credentials,
    current_ds: ec.EllipticCurvePublicKey,
) -> ReplacementOutcome:
    cell = rep.cell
    old_cert = credentials.get(_cert_key(cell.usage, cell.top_up, originator))
    if old_cert is not None:
        existing = (originator.to_bytes(), _ski(x509.load_der_x509_certificate(old_cert)))
    else:  # the anchor installed at commissioning: the device knows its key only
        known = cell.usage == "ds" and not cell.top_up
        existing = (originator.to_bytes(), _key_id(current_ds) if known else b"")

    def outcome(status: int, new_eui: bytes = b"", new_ski: bytes = b"") -> ReplacementOutcome:
        return ReplacementOutcome(cell, status, *existing, new_eui, new_ski)

    if cell.role != role:
        return outcome(STATUS_TRUST_ANCHOR_NOT_FOUND)
    try:
        cert = x509.load_der_x509_certificate(rep.certificate)
    except ValueError:
        return outcome(STATUS_BAD_CERTIFICATE)
    eui = subject_eui(cert)
    issued = _issued_by_path(cert, path)
    pub = cert.public_key()
    if eui is None or not issued or not _usable(cert, cell.usage):
        return outcome(STATUS_BAD_CERTIFICATE)
    if not isinstance(pub, ec.EllipticCurvePublicKey):
        return outcome(STATUS_BAD_CERTIFICATE)
    spki = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    credentials[credential_key(cell.usage, cell.top_up, eui)] = spki
    credentials[_cert_key(cell.usage, cell.top_up, eui)] = rep.certificate
    return outcome(STATUS_SUCCESS, eui.to_bytes(), _ski(cert))


def execute_cs02b(
    command: GbcsMessage,
    credentials: Credentials,
    now: datetime,
    current_ds: ec.EllipticCurvePublicKey,
) -> UpdateSecurityCredentialsResponse:
    """Carry out an (already authenticated) CS02b KRP update from its remote party: replace its
    trust anchors now and answer with the outcome, or hold a future-dated one (a cancellation
    drops what is held). ``current_ds``: the DS key the command was verified with. Raises
    GbcsPayloadError when the command is not a KRP update GBCS defines."""
    payload = command.payload
    if not isinstance(payload, UpdateSecurityCredentialsCommand):
        raise GbcsPayloadError(f"not a CS02b command: {command.use_case}")
    update = CredentialsUpdate.from_payload(payload)
    role = _ROLE_OF_MODE.get(update.mode)
    if role is None or command.message_code != update.message_code:
        raise GbcsPayloadError(f"mode {update.mode} is not a KRP update")
    if update.execution_time is not None and update.execution_time == CANCELLATION_TIME:
        credentials.pop(_PENDING_CS02B, None)
        return UpdateSecurityCredentialsResponse()
    if update.execution_time is not None and update.execution_time > now:
        credentials[_PENDING_CS02B] = payload.encode()
        return UpdateSecurityCredentialsResponse()
    path: list[x509.Certificate] = []
    for der in update.certification_path:
        try:
            path.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    outcomes = [
        _replace_one(r, role, path, command.originator, credentials, current_ds)
        for r in update.replacements
    ]
    return UpdateSecurityCredentialsResponse(cs02b_execution_outcome(update, outcomes))
