"""Safe XML parsing for everything that arrives from outside (DUIS requests, responses, files).

No DTD is loaded, no entity is resolved, nothing is fetched from the network. A document that
declares a DOCTYPE (the door to XXE and entity-expansion bombs) is refused outright, as the DCC
Boxed tool does (`disallow-doctype-decl`).

libxml2's "huge tree" option is on, for one reason: without it a text node is capped at
10,000,000 bytes, and an 11.4 carries its image (up to 10,240,000 bytes, 13.7 MB in base64) in
one text node. Its other relaxations are replaced by our own bounds, checked before the tree is
built where they can be: the byte size, the number of markup openings (a cheap upper bound on
the number of elements) and, after the parse, the nesting depth.

Whitespace-only text between elements is dropped by default (`remove_blank_text`): DUIS has no
mixed content, and the reference tool ignores element-content whitespace before it checks a
signature, so the tree we hash must not carry it either.
"""

from __future__ import annotations

import threading

from lxml import etree

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_DEPTH",
    "MAX_MARKUP",
    "DtdForbidden",
    "NotWellFormed",
    "XmlError",
    "XmlTooLarge",
    "parse_xml",
]

DEFAULT_MAX_BYTES = 12_000_000
"""Default bound. An 11.4 request with the largest image (10,240,000 bytes, ~13.7 MB in
base64) needs more: callers accepting 11.4 pass `max_bytes` (the CLI uses 16 MB)."""


MAX_MARKUP = 200_000
"""At most this many ``<`` in a document (every element needs one or two): the largest DUIS
template has 808."""
MAX_DEPTH = 64
"""At most this many levels of elements: DUIS documents nest 9 deep."""


class XmlError(ValueError):
    """Base class of every XML input error raised by this module."""


class XmlTooLarge(XmlError):
    """The document is bigger than the configured bound."""


class NotWellFormed(XmlError):
    """The bytes are not a well-formed XML document."""


class DtdForbidden(XmlError):
    """The document carries a DOCTYPE, an entity declaration or an entity reference."""


def _parser(remove_blank_text: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=remove_blank_text,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=True,
        collect_ids=False,
    )


class _Parsers(threading.local):
    """lxml parsers must not be shared between threads: one pair per thread."""

    def __init__(self) -> None:
        self.blanks_removed = _parser(True)
        self.blanks_kept = _parser(False)


_PARSERS = _Parsers()


def _first_doctype_offset(data: bytes) -> int:
    """Offset of a `<!DOCTYPE` / `<!ENTITY` markup declaration, or -1 (cheap pre-check)."""
    for marker in (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype"):
        pos = data.find(marker)
        if pos >= 0:
            return pos
    return -1


def parse_xml(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    remove_blank_text: bool = True,
) -> etree._Element:
    """Parse `data` as one XML document and return its root element.

    Raises `XmlTooLarge`, `DtdForbidden` or `NotWellFormed` (all `XmlError`); nothing else.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NotWellFormed(f"expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    if len(raw) > max_bytes:
        raise XmlTooLarge(f"document is {len(raw)} bytes, limit is {max_bytes}")
    if not raw.strip():
        raise NotWellFormed("empty document at offset 0")
    pos = _first_doctype_offset(raw)
    if pos >= 0:
        raise DtdForbidden(f"DOCTYPE/ENTITY declaration at offset {pos}: DTDs are not accepted")
    markup = raw.count(b"<")
    if markup > MAX_MARKUP:
        raise XmlTooLarge(f"document has {markup} markup openings, limit is {MAX_MARKUP}")
    parser = _PARSERS.blanks_removed if remove_blank_text else _PARSERS.blanks_kept
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (0, 0)
        msg = str(exc.msg) if exc.msg else "syntax error"
        if "Entity '" in msg and "not defined" in msg:
            raise DtdForbidden(f"entity reference at line {line}, column {col}: {msg}") from None
        raise NotWellFormed(f"not well-formed at line {line}, column {col}: {msg}") from None
    except (ValueError, TypeError, MemoryError) as exc:  # pragma: no cover - defensive
        raise NotWellFormed(f"not parseable: {exc}") from None
    if root is None:
        raise NotWellFormed("no root element at offset 0")
    docinfo = root.getroottree().docinfo
    if (
        getattr(docinfo, "doctype", "")
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
    ):
        raise DtdForbidden("document declares a DTD: DTDs are not accepted")
    # elements cannot nest deeper than there are start tags: most documents are checked here
    if markup - raw.count(b"</") > MAX_DEPTH:
        _check_depth(root)
    return root


def _check_depth(root: etree._Element) -> None:
    depth = 0
    for event, _el in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > MAX_DEPTH:
            raise NotWellFormed(f"elements nest deeper than {MAX_DEPTH} levels")
