"""DUIS XML signatures exactly as DCC Boxed makes and checks them.

The profile (confirmed against the reference tool, `uk.co.smartdcc.boxed.xmldsig`):

* enveloped `ds:Signature`, last child of the root element, prefix `ds`;
* one `Reference URI=""` whose only transform is enveloped-signature; SHA-256 digest over
  the **inclusive** C14N 1.0 (without comments) of the document minus the Signature: no C14N
  transform is listed, so the XMLDSig default applies;
* `SignedInfo` canonicalised with exclusive C14N (no comments), ECDSA P-256 / SHA-256,
  `SignatureValue` = base64 of the raw 64-byte r||s;
* `KeyInfo/X509Data/X509IssuerSerial` with the RFC 2253 issuer name and the decimal serial;
* the reference tool parses with element-content whitespace ignored, so the document is
  signed and verified with whitespace-only text between elements removed.

`verify`: one parse, one inclusive C14N of the document, one exclusive of SignedInfo, one ECDSA.

Who may sign: a request must be signed by the user named first in its RequestID (the
originator); a response or alert must be signed by the DCC (`dcc_eui`, by default the DSP /
Access Control Broker EUI 90-B3-D5-1F-30-00-00-02). The check applies when the trust store
knows the EUI of the signer's certificate.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from lxml import etree

from althan.duis.namespaces import DSIG, DSIG_NS, SR
from althan.duis.trust import TrustedCertificate, TrustStore, normalise_dn
from althan.duis.xmlsafe import DEFAULT_MAX_BYTES, XmlError, parse_xml
from althan.model import DCC_EUI, EUI64

__all__ = [
    "ALG_ECDSA_SHA256",
    "ALG_ENVELOPED",
    "ALG_EXC_C14N",
    "ALG_SHA256",
    "DSIG_NS",
    "OriginatorMismatch",
    "SignatureError",
    "SignatureInvalid",
    "SignatureMalformed",
    "SignatureMissing",
    "SigningError",
    "TrustStore",
    "TrustedCertificate",
    "UnknownCertificate",
    "VerifiedDocument",
    "normalise_dn",
    "sign",
    "strip_blank_text",
    "verify",
]

ALG_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ALG_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ALG_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ALG_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

_D, _SR = DSIG, SR
_SIGNATURE = f"{_D}Signature"
_EUI_PART = r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}"
_ID_RE = re.compile(rf"^\s*({_EUI_PART}):({_EUI_PART}):([0-9]{{1,20}})\s*$")
_B64_WS = re.compile(rb"[\s]+")
_SERIAL_RE = re.compile(r"^\s*([0-9]{1,60})\s*$")


class SignatureError(Exception):
    """Base class of every error raised by signing or verifying."""


class SignatureMissing(SignatureError):
    """The document carries no ds:Signature."""


class SignatureInvalid(SignatureError):
    """The digest or the signature value does not match."""


class SignatureMalformed(SignatureInvalid):
    """The ds:Signature is not the DCC Boxed profile (algorithms, structure, encodings)."""


class UnknownCertificate(SignatureError):
    """The X509IssuerSerial names no certificate of the trust store."""


class OriginatorMismatch(SignatureError):
    """The signer is not the party the document says it comes from."""


class SigningError(SignatureError):
    """The document cannot be signed (bad key, bad input)."""


@dataclass(frozen=True, slots=True)
class VerifiedDocument:
    """A document whose signature checked out. `root` still carries its ds:Signature."""

    root: etree._Element
    signer: TrustedCertificate
    originator: EUI64 | None
    digest: bytes

    @property
    def signer_eui(self) -> EUI64 | None:
        return self.signer.eui


# ----------------------------------------------------------------------------- helpers


def strip_blank_text(root: etree._Element, *, look_only: bool = False) -> bool:
    """Drop whitespace-only text between elements in place (`look_only`: just say if any)."""
    changed = False
    for el in root.iter():
        if len(el):
            if el.text is not None and not el.text.strip():
                if look_only:
                    return True
                el.text = None
                changed = True
            for child in el:
                if child.tail is not None and not child.tail.strip():
                    if look_only:
                        return True
                    child.tail = None
                    changed = True
    return changed


def _copy_document(root: etree._Element) -> etree._Element:
    """A deep copy of `root`'s whole document (top-level PIs included); `root` if detached."""
    if root.getparent() is not None:
        return copy.deepcopy(root)
    return copy.deepcopy(root.getroottree()).getroot()


def _c14n(node: etree._Element | etree._ElementTree, *, exclusive: bool = False) -> bytes:
    """C14N 1.0 without comments; libxml2 refuses some documents (relative namespace URIs)."""
    try:
        return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=False)
    except etree.C14NError:
        raise SignatureMalformed(
            "the document cannot be canonicalised (relative namespace URI?)"
        ) from None


def _c14n_without(root: etree._Element, sig: etree._Element) -> bytes:
    """Inclusive C14N 1.0 (no comments) of `root`'s document minus `sig` (the
    enveloped-signature transform), without modifying the tree.

    Fast path (the usual layout: the Signature is the root's last child, nothing after it):
    canonicalise the whole document once and cut the Signature's own rendering out; C14N of
    the other nodes does not depend on it. Otherwise: canonicalise a copy without it.
    (Detaching and re-inserting the Signature in place is not an option: lxml reconciles
    namespaces on insertion and may rename the `ds` prefix to another one bound to the same
    URI, which changes the exclusive C14N of SignedInfo.)"""
    if sig.getparent() is root and sig.getnext() is None and not sig.tail:
        full = _c14n(root.getroottree())
        root_close = f"</{_qname(root)}>".encode()
        sig_name = _qname(sig).encode()
        sig_close = b"</" + sig_name + b">"
        end = len(full) - len(root_close)
        if full.endswith(root_close) and full[end - len(sig_close) : end] == sig_close:
            begin = max(
                full.rfind(b"<" + sig_name + b" ", 0, end),
                full.rfind(b"<" + sig_name + b">", 0, end),
            )
            if begin >= 0:
                return full[:begin] + full[end:]
    # general case: a copy without the Signature (the text after it stays, as the transform
    # removes only the element)
    steps: list[int] = []
    node = sig
    while node is not root:
        up = node.getparent()
        if up is None:
            raise SignatureMalformed("ds:Signature is not inside the document element")
        steps.append(up.index(node))
        node = up
    doc_copy = _copy_document(root)
    sig_copy = doc_copy
    for i in reversed(steps):
        sig_copy = sig_copy[i]
    parent = sig_copy.getparent()
    if parent is None:
        raise SignatureMalformed("ds:Signature is the root element")
    tail = sig_copy.tail
    if tail:
        prev = sig_copy.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    sig_copy.tail = None
    parent.remove(sig_copy)
    return _c14n(doc_copy.getroottree())


def _qname(el: etree._Element) -> str:
    q = etree.QName(el)
    prefix = el.prefix
    return f"{prefix}:{q.localname}" if prefix else q.localname


def _b64decode(text: str | None, what: str) -> bytes:
    if text is None:
        raise SignatureMalformed(f"{what} is empty")
    try:
        raw = _B64_WS.sub(b"", text.encode("ascii"))
        return base64.b64decode(raw, validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise SignatureMalformed(f"{what} is not base64") from None


def _originator(root: etree._Element) -> EUI64 | None:
    """First EUI of the header RequestID (requests) — None if there is no RequestID."""
    header = root.find(f"{_SR}Header")
    if header is None:
        return None
    rid = header.find(f"{_SR}RequestID")
    if rid is None:
        return None
    m = _ID_RE.match(rid.text or "")
    if m is None:
        raise OriginatorMismatch(
            f"line {rid.sourceline}: RequestID {rid.text!r} is not EUI:EUI:counter"
        )
    return EUI64.parse(m.group(1))


def _find_signature(root: etree._Element) -> etree._Element:
    last = root[-1] if len(root) else None
    if last is not None and last.tag == _SIGNATURE:
        sigs = [last]
        # cheap guard against a second one hidden elsewhere
        for el in root.iter(_SIGNATURE):
            if el is not last:
                sigs.append(el)
                break
    else:
        sigs = list(root.iter(_SIGNATURE))
    if not sigs:
        raise SignatureMissing("document has no ds:Signature")
    if len(sigs) > 1:
        raise SignatureMalformed("document has more than one ds:Signature")
    return sigs[0]


def _kids(parent: etree._Element) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str)]


def _child(
    parent: etree._Element, name: str, index: int, kids: list[etree._Element] | None = None
) -> etree._Element:
    if kids is None:
        kids = _kids(parent)
    if index >= len(kids) or kids[index].tag != f"{_D}{name}":
        got = kids[index].tag if index < len(kids) else "nothing"
        raise SignatureMalformed(
            f"line {parent.sourceline}: expected ds:{name} as child {index + 1} of "
            f"{etree.QName(parent).localname}, found {got}"
        )
    return kids[index]


def _algorithm(el: etree._Element, expected: str) -> None:
    alg = el.get("Algorithm")
    if alg != expected:
        raise SignatureMalformed(
            f"line {el.sourceline}: {etree.QName(el).localname} Algorithm {alg!r}, "
            f"expected {expected}"
        )
    if any(isinstance(c.tag, str) for c in el):
        raise SignatureMalformed(
            f"line {el.sourceline}: {etree.QName(el).localname} must have no parameters"
        )


@dataclass(frozen=True, slots=True)
class _ParsedSignature:
    signed_info: etree._Element
    digest_el: etree._Element
    signature_value_el: etree._Element
    issuer: str
    serial: int


def _parse_signature(sig: etree._Element) -> _ParsedSignature:
    sig_kids = _kids(sig)
    signed_info = _child(sig, "SignedInfo", 0, sig_kids)
    si_kids = _kids(signed_info)
    _algorithm(_child(signed_info, "CanonicalizationMethod", 0, si_kids), ALG_EXC_C14N)
    _algorithm(_child(signed_info, "SignatureMethod", 1, si_kids), ALG_ECDSA_SHA256)
    ref = _child(signed_info, "Reference", 2, si_kids)
    if len(si_kids) != 3:
        raise SignatureMalformed("SignedInfo must hold exactly one Reference")
    if ref.get("URI") != "":
        raise SignatureMalformed(f'Reference URI {ref.get("URI")!r}, expected ""')
    ref_kids = _kids(ref)
    transforms = _child(ref, "Transforms", 0, ref_kids)
    tlist = _kids(transforms)
    if len(tlist) != 1:
        raise SignatureMalformed("Transforms must hold exactly the enveloped-signature transform")
    if tlist[0].tag != f"{_D}Transform":
        raise SignatureMalformed(f"unexpected {tlist[0].tag} in Transforms")
    _algorithm(tlist[0], ALG_ENVELOPED)
    _algorithm(_child(ref, "DigestMethod", 1, ref_kids), ALG_SHA256)
    digest_el = _child(ref, "DigestValue", 2, ref_kids)
    sv_el = _child(sig, "SignatureValue", 1, sig_kids)
    if len(sig_kids) < 3:
        raise UnknownCertificate(
            "the signature names no certificate (no KeyInfo/X509Data/X509IssuerSerial)"
        )
    key_info = _child(sig, "KeyInfo", 2, sig_kids)
    x509_data = _child(key_info, "X509Data", 0)
    ids = _child(x509_data, "X509IssuerSerial", 0)
    issuer_el = _child(ids, "X509IssuerName", 0)
    serial_el = _child(ids, "X509SerialNumber", 1)
    m = _SERIAL_RE.match(serial_el.text or "")
    if m is None:
        raise SignatureMalformed(
            f"line {serial_el.sourceline}: X509SerialNumber {serial_el.text!r} is not decimal"
        )
    return _ParsedSignature(
        signed_info=signed_info,
        digest_el=digest_el,
        signature_value_el=sv_el,
        issuer=issuer_el.text or "",
        serial=int(m.group(1)),
    )


# ----------------------------------------------------------------------------- API


def verify(
    data: bytes | etree._Element,
    trust: TrustStore,
    *,
    dcc_eui: EUI64 | None = DCC_EUI,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> VerifiedDocument:
    """Verify a DUIS document signed in the DCC Boxed profile.

    Raises `XmlError` (from parsing bytes), `SignatureMissing`, `SignatureInvalid`
    (`SignatureMalformed` for profile violations), `UnknownCertificate` or
    `OriginatorMismatch`. An element argument is not modified (a copy is taken when it
    carries inter-element whitespace); it is detached from nothing.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        root = parse_xml(bytes(data), max_bytes=max_bytes)
    elif isinstance(data, etree._Element):
        root = data
        if strip_blank_text(root, look_only=True):
            root = _copy_document(root)
            strip_blank_text(root)
    else:
        raise TypeError(f"verify() takes bytes or an lxml element, not {type(data).__name__}")

    sig = _find_signature(root)
    parsed = _parse_signature(sig)
    signer = trust.by_issuer_serial(parsed.issuer, parsed.serial)
    if signer is None:
        raise UnknownCertificate(
            f"no trusted certificate with issuer {parsed.issuer!r} and serial {parsed.serial}"
        )

    is_request = etree.QName(root).localname == "Request"
    originator = _originator(root)
    expected = originator if is_request else dcc_eui
    if signer.eui is not None and expected is not None and signer.eui != expected:
        raise OriginatorMismatch(
            f"signed by {signer.eui} (serial {signer.serial}) but the "
            f"{'originator' if expected == originator else 'DCC'} is {expected}"
        )
    if is_request and originator is None:
        raise OriginatorMismatch("request has no RequestID: originator unknown")

    digest_value = _b64decode(parsed.digest_el.text, "DigestValue")
    if len(digest_value) != 32:
        raise SignatureMalformed(f"DigestValue has {len(digest_value)} bytes, expected 32")
    signature_value = _b64decode(parsed.signature_value_el.text, "SignatureValue")
    if len(signature_value) != 64:
        raise SignatureMalformed(
            f"SignatureValue has {len(signature_value)} bytes, expected 64 (r||s)"
        )

    digest = hashlib.sha256(_c14n_without(root, sig)).digest()
    if digest != digest_value:
        raise SignatureInvalid("digest mismatch: the signed content was changed")
    r = int.from_bytes(signature_value[:32], "big")
    s = int.from_bytes(signature_value[32:], "big")
    try:
        signer.public_key.verify(
            encode_dss_signature(r, s),
            _c14n(parsed.signed_info, exclusive=True),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature:
        raise SignatureInvalid(
            f"signature value does not verify with certificate serial {signer.serial}"
        ) from None
    return VerifiedDocument(root=root, signer=signer, originator=originator, digest=digest)


@functools.lru_cache(maxsize=32)
def _signer_of(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> tuple[str, str]:
    """The X509IssuerSerial of a key that belongs to its certificate, checked once per pair."""
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError("the signing key must be an ECDSA P-256 private key")
    pub = cert.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or (
        pub.public_numbers() != key.public_key().public_numbers()
    ):
        raise SigningError("the private key does not belong to the certificate")
    return cert.issuer.rfc4514_string(), str(cert.serial_number)


def sign(
    doc: bytes | etree._Element,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    in_place: bool = False,
) -> bytes:
    """Sign a DUIS document (bytes or element; an element is not modified) and return the
    signed document's bytes. An existing ds:Signature is dropped first, as the reference
    tool does. The key is checked against the certificate once per pair.

    `in_place`: a document root the caller built to be signed is signed without a copy (so
    changed: not to be used again); the bytes are the same."""
    issuer, serial = _signer_of(key, cert)
    if isinstance(doc, bytes | bytearray | memoryview):
        try:
            root = parse_xml(bytes(doc), max_bytes=max_bytes)
        except XmlError as exc:
            raise SigningError(f"cannot sign: {exc}") from None
    elif isinstance(doc, etree._Element):
        if in_place and doc.getparent() is not None:
            raise ValueError("sign(in_place=True) takes a document root, not a child element")
        root = doc if in_place else _copy_document(doc)
        strip_blank_text(root)
    else:
        raise TypeError(f"sign() takes bytes or an lxml element, not {type(doc).__name__}")

    for old in list(root.iter(_SIGNATURE)):
        parent = old.getparent()
        if parent is None:
            raise SigningError("the root element is a ds:Signature")
        parent.remove(old)

    try:
        digest = hashlib.sha256(_c14n(root.getroottree())).digest()
    except SignatureMalformed as exc:
        raise SigningError(f"cannot sign: {exc}") from None

    sig = etree.SubElement(root, _SIGNATURE, nsmap={"ds": DSIG_NS})
    si = etree.SubElement(sig, f"{_D}SignedInfo")
    etree.SubElement(si, f"{_D}CanonicalizationMethod", Algorithm=ALG_EXC_C14N)
    etree.SubElement(si, f"{_D}SignatureMethod", Algorithm=ALG_ECDSA_SHA256)
    ref = etree.SubElement(si, f"{_D}Reference", URI="")
    tr = etree.SubElement(ref, f"{_D}Transforms")
    etree.SubElement(tr, f"{_D}Transform", Algorithm=ALG_ENVELOPED)
    etree.SubElement(ref, f"{_D}DigestMethod", Algorithm=ALG_SHA256)
    etree.SubElement(ref, f"{_D}DigestValue").text = base64.b64encode(digest).decode()
    sv = etree.SubElement(sig, f"{_D}SignatureValue")
    ki = etree.SubElement(sig, f"{_D}KeyInfo")
    xd = etree.SubElement(ki, f"{_D}X509Data")
    ids = etree.SubElement(xd, f"{_D}X509IssuerSerial")
    etree.SubElement(ids, f"{_D}X509IssuerName").text = issuer
    etree.SubElement(ids, f"{_D}X509SerialNumber").text = serial

    try:
        signed_info_c14n = _c14n(si, exclusive=True)
    except SignatureMalformed as exc:
        raise SigningError(f"cannot sign: {exc}") from None
    der = key.sign(signed_info_c14n, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    sv.text = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
