"""The XML namespaces of DUIS, defined once, and the few element helpers every room shares.

`sr:` is the Service User Gateway namespace of every DUIS request, response and alert;
`ra:` the ResponseAndAlert namespace the DSP's responses declare; `ds:` XMLDSig.
"""

from __future__ import annotations

import base64
import binascii

from lxml import etree

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
RA_NS = "http://www.dccinterface.co.uk/ResponseAndAlert"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XS_NS = "http://www.w3.org/2001/XMLSchema"

SR = f"{{{SR_NS}}}"
"""Clark-notation prefix: ``f"{SR}Header"`` is ``sr:Header``."""
DSIG = f"{{{DSIG_NS}}}"


def sr_element(name: str, text: str | None = None, *children: etree._Element) -> etree._Element:
    """An ``sr:<name>`` element with optional text and children."""
    e = etree.Element(f"{SR}{name}", nsmap={"sr": SR_NS})
    if text is not None:
        e.text = text
    for c in children:
        e.append(c)
    return e


def sr_child(parent: etree._Element, name: str) -> etree._Element | None:
    """The first ``sr:<name>`` child of `parent`, or None."""
    return parent.find(f"{SR}{name}")


def sr_text(parent: etree._Element, name: str) -> str | None:
    """The stripped text of the first ``sr:<name>`` child, or None."""
    e = parent.find(f"{SR}{name}")
    return None if e is None or e.text is None else e.text.strip()


def base64_binary(value: str | None) -> bytes | None:
    """The bytes of an xs:base64Binary value, or None when absent or not base64. Whitespace is
    part of the type's lexical space (a client may wrap the text at 76 columns, as MIME does)."""
    if not value:
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
