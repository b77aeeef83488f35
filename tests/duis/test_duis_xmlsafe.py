from __future__ import annotations

from pathlib import Path

import pytest

from althan.duis.xmlsafe import (
    MAX_DEPTH,
    DtdForbidden,
    NotWellFormed,
    XmlError,
    XmlTooLarge,
    parse_xml,
)


def test_reference_xxe_sample_is_refused(samples_dir: Path) -> None:
    data = (samples_dir / "signing-tool" / "duis-xxe.xml").read_bytes()
    with pytest.raises(DtdForbidden, match="offset 55"):
        parse_xml(data)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx"><!ENTITY y "&x;&x;">]><a>&y;</a>',
        b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
        b"<a>&xxe;</a>",
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode(
            "utf-16"
        ),
    ],
)
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(DtdForbidden):
        parse_xml(data)


def test_too_large() -> None:
    with pytest.raises(XmlTooLarge, match="limit is 100"):
        parse_xml(b"<a>" + b"x" * 200 + b"</a>", max_bytes=100)


@pytest.mark.parametrize("data", [b"", b"   ", b"<a>", b"<a></b>", b"\xff\xfe\x00", b"<a/><b/>"])
def test_not_well_formed(data: bytes) -> None:
    with pytest.raises(NotWellFormed):
        parse_xml(data)


def test_not_well_formed_says_where() -> None:
    with pytest.raises(NotWellFormed, match="line 2"):
        parse_xml(b"<a>\n<b></a>")


def test_character_references_and_blank_text() -> None:
    root = parse_xml(b"<a>\n  <b>x&#13;&amp;</b>\n  <c> </c>\n</a>")
    assert root.text is None  # whitespace between elements dropped
    assert root[0].text == "x\r&"
    assert root[0].tail is None
    assert root[1].text == " "  # whitespace-only simple content kept
    kept = parse_xml(b"<a>\n  <b/>\n</a>", remove_blank_text=False)
    assert kept.text == "\n  "


def test_errors_share_one_base() -> None:
    for cls in (DtdForbidden, NotWellFormed, XmlTooLarge):
        assert issubclass(cls, XmlError)


def _nested(depth: int, *, inside: bytes = b"") -> bytes:
    return b"<a>" * (depth - 1) + b"<a/>" + inside + b"</a>" * (depth - 1)


@pytest.mark.parametrize(
    "data",
    [
        _nested(MAX_DEPTH + 1),
        _nested(MAX_DEPTH + 1).replace(b"<a/>", b"<a></a>"),
        # closing markup inside a comment or a CDATA section cannot hide the nesting
        _nested(MAX_DEPTH + 1, inside=b"<!--" + b"</" * 200 + b"-->"),
        _nested(MAX_DEPTH + 1, inside=b"<![CDATA[" + b"</" * 200 + b"]]>"),
    ],
)
def test_nesting_deeper_than_the_limit_is_refused(data: bytes) -> None:
    with pytest.raises(NotWellFormed, match=f"deeper than {MAX_DEPTH}"):
        parse_xml(data)


def test_nesting_to_the_limit_is_accepted() -> None:
    root = parse_xml(_nested(MAX_DEPTH, inside=b"<![CDATA[</x>]]>"))
    assert sum(1 for _ in root.iter()) == MAX_DEPTH
