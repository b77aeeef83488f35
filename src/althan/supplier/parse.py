"""Parse & Correlate for what comes back: a DUIS response or alert carrying GBCS, checked as a
supplier can check it (SEC Section H11), every verdict kept.

``ResponseParser(trust, keys).parse(data)`` returns a :class:`ParseResult`:

1. ``xml-signature``: the DSP's XMLDSig over the document (the DCC's certificate, ZAZ1 by
   default: ``althan.duis.xmldsig.verify`` with the DCC as the only acceptable signer);
2. ``gbcs-decode``: the ``GBCSPayload`` is base64 of a GBCS message that decodes strictly;
3. consistency of the GBCS with the DUIS document around it (``originator``, ``target``,
   ``remote-party``, ``message-type``, ``use-case``, ``alert-code``, ``counter``);
4. ``gbcs-signature`` / ``gbcs-mac``: the device's signature with its SMKI DS certificate; the
   MAC with the KA keys of the message's two ends (see :func:`mac_ends`);
5. ``gbcs-protection``: the message carries the protection its kind needs (a signature for an
   alert or a critical command's response, a signature or a MAC otherwise, none for a
   pre-command).

Cryptographic checks run only once the GBCS is consistent with its document, so nothing is
looked up for an EUI an attacker chose. A supplier cannot make every check: the MAC of a
device's response to a command the Access Control Broker sent for it (11.2's CS08: the URP
pattern) is keyed for the ACB, so it needs the ACB's KA private key — ``unverifiable`` unless
the key source holds it (the ZAZ1 test PKI publishes it; see docs/supplier.md).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from althan import gbcs
from althan.duis.envelope import InvalidId, RequestId
from althan.duis.xmldsig import SignatureError, TrustStore, verify
from althan.duis.xmlsafe import DEFAULT_MAX_BYTES, parse_xml
from althan.model import DCC_EUI, EUI64
from althan.supplier.credentials import KeySource
from althan.supplier.documents import BodyKind, DuisResponse, read_response

__all__ = [
    "Check",
    "Outcome",
    "ParseResult",
    "ResponseParser",
    "Verdict",
    "mac_ends",
]


class Verdict(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"
    UNKNOWN_CERTIFICATE = "unknown-certificate"
    """No SMKI certificate for the key this check needs."""
    UNVERIFIABLE = "unverifiable"
    """The check needs a private key this party does not hold."""
    NOT_CHECKED = "not-checked"


class Outcome(enum.StrEnum):
    """The verdict on the whole document, worst first."""

    INVALID = "invalid"
    NO_GBCS = "no-gbcs"
    UNKNOWN_CERTIFICATE = "unknown-certificate"
    UNVERIFIABLE = "unverifiable"
    VALID = "valid"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ParseResult:
    """A document, its GBCS (``message``, None when absent or undecodable) and every check."""

    document: DuisResponse
    message: gbcs.GbcsMessage | None
    checks: tuple[Check, ...]

    @property
    def outcome(self) -> Outcome:
        verdicts = {c.verdict for c in self.checks}
        if Verdict.INVALID in verdicts:
            return Outcome.INVALID
        if self.document.gbcs is None and self.document.gbcs_error is None:
            return Outcome.NO_GBCS
        if Verdict.UNKNOWN_CERTIFICATE in verdicts:
            return Outcome.UNKNOWN_CERTIFICATE
        if Verdict.UNVERIFIABLE in verdicts:
            return Outcome.UNVERIFIABLE
        return Outcome.VALID

    @property
    def valid(self) -> bool:
        return self.outcome is Outcome.VALID

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def reason(self) -> str:
        """The first check that decided the outcome, as one line."""
        want = {
            Outcome.INVALID: Verdict.INVALID,
            Outcome.UNKNOWN_CERTIFICATE: Verdict.UNKNOWN_CERTIFICATE,
            Outcome.UNVERIFIABLE: Verdict.UNVERIFIABLE,
        }.get(self.outcome)
        for c in self.checks:
            if c.verdict is want:
                return f"{c.name}: {c.detail}" if c.detail else c.name
        if self.outcome is Outcome.NO_GBCS:
            return _no_gbcs_reason(self.document)
        return "every check passed"


def _no_gbcs_reason(doc: DuisResponse) -> str:
    if doc.kind is BodyKind.DCC_ALERT:
        return (
            f"DCC alert {doc.alert_code or '?'} carries no GBCS (a DCC alert is the DSP's "
            "own message, e.g. N39's PPMIDAlert, not the device's bytes)"
        )
    srv = doc.service_reference_variant or "?"
    return f"response {doc.response_code} to SRV {srv} carries no GBCSPayload"


CRITICAL_CODES = frozenset(
    {
        gbcs.MessageCode.CS02D,
        gbcs.MessageCode.ECS70,
        gbcs.MessageCode.CS02G,
        *(0x0100 + mode for mode in range(10)),
    }
)
"""Message codes of critical commands: their responses are signed by the device."""
SRV_USE_CASES: dict[str, frozenset[int]] = {
    "11.2": frozenset({gbcs.MessageCode.CS08}),
    "6.15.1": frozenset({gbcs.MessageCode.CS02G, *(0x0100 + mode for mode in range(10))}),
    "6.15.2": frozenset({gbcs.MessageCode.CS02D}),
    "8.1.1": frozenset({gbcs.MessageCode.ECS70}),
}
"""The GBCS message codes each SRV may carry, among those althan types (11.2 also carries
ECS52 / GCS38 for meters, whose codes this table does not claim)."""
ALERT_USE_CASES: dict[int, int] = {
    gbcs.ALERT_PPMID_FIRMWARE_ACTIVATION: gbcs.MessageCode.CS09,
    gbcs.ALERT_FIRMWARE_TRANSFER_SUCCESS: gbcs.MessageCode.CCS08,
    gbcs.ALERT_FIRMWARE_TRANSFER_FAILURE: gbcs.MessageCode.CCS08,
}
_KNOWN_CODES = frozenset().union(*SRV_USE_CASES.values(), ALERT_USE_CASES.values())
_PRE_HOLDERS = ("PreCommand", "LocalCommand")
_CRYPTO_CHECKS = ("gbcs-signature", "gbcs-mac")


def mac_ends(msg: gbcs.GbcsMessage) -> tuple[tuple[EUI64, EUI64], ...]:
    """The (holder of a KA private key, holder of the matching KA public key) pairs that key
    a message's MAC. A command's MAC is the ACB's with the target device, whoever the business
    originator is; a response's or an alert's is keyed by its originator and its target — for
    a device's response to an ACB command sent for a user (URP), that is the device and the
    ACB, not the user (as ``althan.gbcs.Keystore.mac_key_pair``, which the RTDS confirms)."""
    if msg.cra_flag == gbcs.CraFlag.COMMAND:
        acb = DCC_EUI
        return ((acb, msg.target), (msg.target, acb))
    return ((msg.target, msg.originator), (msg.originator, msg.target))


def _request_id(doc: DuisResponse) -> RequestId | None:
    if doc.request_id is None:
        return None
    try:
        return RequestId.parse(doc.request_id)
    except InvalidId:
        return None


def _same(name: str, ok: bool, detail: str) -> Check:
    return Check(name, Verdict.VALID if ok else Verdict.INVALID, detail)


def _consistency(doc: DuisResponse, msg: gbcs.GbcsMessage) -> Iterator[Check]:
    """The GBCS against the DUIS document that carries it."""
    rid = _request_id(doc)
    pre = doc.gbcs_holder in _PRE_HOLDERS
    if pre:
        # a pre-command (or a command for local delivery) is the user's request, transformed
        if rid is None:
            yield Check("originator", Verdict.INVALID, "no RequestID to compare the command with")
            return
        yield _same(
            "originator",
            msg.originator == rid.originator,
            f"GBCS business originator {msg.originator}, RequestID originator {rid.originator}",
        )
        yield _same(
            "target",
            msg.target == rid.target,
            f"GBCS business target {msg.target}, RequestID target {rid.target}",
        )
        yield _same("message-type", msg.cra_flag == gbcs.CraFlag.COMMAND, msg.cra_flag.name)
    else:
        resp_id = doc.response_id
        if resp_id is None:
            yield Check("originator", Verdict.INVALID, "no ResponseID naming the device")
            return
        device, user = resp_id.originator, resp_id.target
        yield _same(
            "originator",
            msg.originator == device,
            f"GBCS business originator {msg.originator}, ResponseID device {device}",
        )
        yield _same(
            "target",
            msg.target in (DCC_EUI, user),
            f"GBCS business target {msg.target} (the ACB or the user {user})",
        )
        srp = msg.supplementary_remote_party
        if srp is not None:
            yield _same("remote-party", srp == user, f"supplementary remote party {srp}")
        want = gbcs.CraFlag.ALERT if doc.kind is BodyKind.DEVICE_ALERT else gbcs.CraFlag.RESPONSE
        yield _same("message-type", msg.cra_flag == want, f"{msg.cra_flag.name}, want {want.name}")
    yield from _use_case(doc, msg)
    if rid is not None and doc.kind is BodyKind.RESPONSE:
        # the user's counter: the supplementary remote party's when the ACB sent the command
        # for the user (URP), the transaction's when the user originated it (critical)
        srp_counter = msg.other_info.supplementary_remote_party_counter
        which, got = (
            ("transaction", msg.transaction_id)
            if srp_counter is None
            else ("remote party", srp_counter)
        )
        yield _same(
            "counter", got == rid.counter, f"GBCS {which} counter {got}, RequestID {rid.counter}"
        )


def _use_case(doc: DuisResponse, msg: gbcs.GbcsMessage) -> Iterator[Check]:
    code = msg.message_code
    srv = doc.service_reference_variant
    if doc.kind is BodyKind.RESPONSE and srv in SRV_USE_CASES:
        if code in _KNOWN_CODES:
            yield _same("use-case", code in SRV_USE_CASES[srv], f"{msg.use_case} for SRV {srv}")
        else:
            yield Check("use-case", Verdict.NOT_CHECKED, f"message code 0x{code:04X} not typed")
    if doc.kind is BodyKind.DEVICE_ALERT:
        try:
            alert = int(doc.alert_code or "", 16)
        except ValueError:
            yield Check("alert-code", Verdict.INVALID, f"AlertCode {doc.alert_code!r}")
            return
        if alert in ALERT_USE_CASES:
            want = ALERT_USE_CASES[alert]
            yield _same("use-case", code == want, f"{msg.use_case} for alert {alert:04X}")
        inner = getattr(msg.payload, "alert_code", None)
        if isinstance(inner, int):
            yield _same(
                "alert-code", inner == alert, f"GBCS alert 0x{inner:04X}, AlertCode {alert:04X}"
            )


@dataclass(frozen=True, slots=True, eq=False)
class ResponseParser:
    """Checks DUIS documents against one trust store (the DCC's XML-signing certificates)
    and one key source (SMKI certificates, private keys)."""

    trust: TrustStore
    keys: KeySource
    _: KW_ONLY
    dcc_eui: EUI64 = DCC_EUI
    max_bytes: int = DEFAULT_MAX_BYTES

    def parse(self, data: bytes) -> ParseResult:
        """Parse and check ``data``. Raises ``XmlError`` (not XML), ``NotADuisResponse``
        (XML, not a DUIS response or alert) and ``KeySourceError`` (a key source failed)."""
        return self.parse_element(parse_xml(data, max_bytes=self.max_bytes))

    def parse_element(self, root: etree._Element) -> ParseResult:
        doc = read_response(root)
        checks = [self._xml_signature(root)]
        if doc.gbcs is None:
            if doc.gbcs_error is not None:
                checks.append(Check("gbcs-decode", Verdict.INVALID, doc.gbcs_error))
            return ParseResult(doc, None, tuple(checks))
        try:
            msg = gbcs.decode(doc.gbcs)
        except gbcs.GbcsError as exc:
            checks.append(Check("gbcs-decode", Verdict.INVALID, str(exc)))
            return ParseResult(doc, None, tuple(checks))
        checks.append(Check("gbcs-decode", Verdict.VALID, f"{msg.use_case} {msg.cra_flag.name}"))
        consistent = list(_consistency(doc, msg))
        checks.extend(consistent)
        if any(c.verdict is Verdict.INVALID for c in consistent):
            skipped = "the GBCS does not match its document"
            checks += [Check(n, Verdict.NOT_CHECKED, skipped) for n in _CRYPTO_CHECKS]
            return ParseResult(doc, msg, tuple(checks))
        sig, mac = self._signature(msg), self._mac(msg)
        checks += [sig, mac, self._protection(doc, msg, sig, mac)]
        return ParseResult(doc, msg, tuple(checks))

    # ------------------------------------------------------------------ the checks

    def _xml_signature(self, root: etree._Element) -> Check:
        try:
            v = verify(root, self.trust, dcc_eui=self.dcc_eui, max_bytes=self.max_bytes)
        except SignatureError as exc:
            return Check("xml-signature", Verdict.INVALID, f"{type(exc).__name__}: {exc}")
        who = str(v.signer.eui) if v.signer.eui is not None else "a trusted certificate"
        return Check("xml-signature", Verdict.VALID, f"signed by {who} (serial {v.signer.serial})")

    def _signature(self, msg: gbcs.GbcsMessage) -> Check:
        if msg.signature is None:
            return Check("gbcs-signature", Verdict.ABSENT)
        keys = self.keys.public_keys(msg.originator, "ds")
        if not keys:
            return Check(
                "gbcs-signature",
                Verdict.UNKNOWN_CERTIFICATE,
                f"no DS certificate for {msg.originator} in {self.keys.name}",
            )
        ok = any(gbcs.verify_signature(msg, k) for k in keys)
        detail = f"{msg.originator}'s DS key ({len(keys)} certificate(s))"
        return Check("gbcs-signature", Verdict.VALID if ok else Verdict.INVALID, detail)

    def _mac(self, msg: gbcs.GbcsMessage) -> Check:
        if msg.mac is None:
            return Check("gbcs-mac", Verdict.ABSENT)
        pairs: list[tuple[EUI64, EUI64, ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]]
        pairs = []
        missing: list[EUI64] = []
        for holder, other in mac_ends(msg):
            privates = self.keys.private_keys(holder, "ka")
            if not privates:
                continue
            publics = self.keys.public_keys(other, "ka")
            if not publics:
                missing.append(other)
            pairs += [(holder, other, prv, pub) for prv in privates for pub in publics]
        if not pairs:
            a, b = mac_ends(msg)[0]
            if missing:
                return Check(
                    "gbcs-mac",
                    Verdict.UNKNOWN_CERTIFICATE,
                    f"no KA certificate for {missing[0]} in {self.keys.name}",
                )
            return Check(
                "gbcs-mac",
                Verdict.UNVERIFIABLE,
                f"keyed by the KA keys of {a} and {b}: it needs the KA private key of one of "
                f"them, which {self.keys.name} does not hold",
            )
        for holder, other, prv, pub in pairs:
            if gbcs.verify_mac(msg, private_key=prv, public_key=pub):
                return Check("gbcs-mac", Verdict.VALID, f"KA keys of {holder} and {other}")
        a, b = mac_ends(msg)[0]
        return Check("gbcs-mac", Verdict.INVALID, f"the KA keys of {a} and {b} do not verify it")

    def _protection(
        self, doc: DuisResponse, msg: gbcs.GbcsMessage, sig: Check, mac: Check
    ) -> Check:
        if doc.gbcs_holder == "PreCommand":
            bare = not msg.signature_field and msg.mac is None and not msg.is_mac_form
            return _same("gbcs-protection", bare, "a pre-command: no signature field, no MAC")
        signed_kind = msg.cra_flag == gbcs.CraFlag.ALERT or (
            msg.cra_flag == gbcs.CraFlag.RESPONSE and msg.message_code in CRITICAL_CODES
        )
        if signed_kind and sig.verdict is Verdict.ABSENT:
            return Check("gbcs-protection", Verdict.INVALID, f"{msg.use_case}: not signed")
        if sig.verdict is Verdict.ABSENT and mac.verdict is Verdict.ABSENT:
            return Check("gbcs-protection", Verdict.INVALID, "neither signed nor MAC'd")
        present = (("signature", sig), ("MAC", mac))
        kinds = [n for n, c in present if c.verdict is not Verdict.ABSENT]
        return Check("gbcs-protection", Verdict.VALID, " and ".join(kinds))
