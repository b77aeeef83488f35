"""The errors of the OTA file format: every malformed input raises one of these, with the
byte offset of the problem (also in ``offset``)."""

from __future__ import annotations


class OtaError(ValueError):
    """Base of every OTA format error; ``offset`` is the byte offset in the input."""

    def __init__(self, what: str, offset: int) -> None:
        super().__init__(f"{what} (at offset {offset})")
        self.what = what
        self.offset = offset


class OtaTruncatedHeaderError(OtaError):
    """The input ends inside the OTA header."""


class OtaBadMagicError(OtaError):
    """No OTA magic 0x0BEEF11E at the start nor inside a recognised wrapper."""


class OtaBadHeaderLengthError(OtaError):
    """header_length is smaller than the fields the field control announces."""


class OtaSizeMismatchError(OtaError):
    """total_image_size is inconsistent (smaller than the header, or wrong when building)."""


class OtaTruncatedImageError(OtaError):
    """The input is shorter than total_image_size."""


class OtaSubElementOverrunError(OtaError):
    """A sub-element header or value runs past the end of the image (zigbee form)."""


class OtaWrapperError(OtaError):
    """A recognised vendor wrapper is internally inconsistent."""


class OtaBuildError(OtaError):
    """Values given to a builder cannot be encoded."""


class OtaAmbiguousError(OtaBuildError):
    """The requested image would not parse back to the same value (form detection)."""


def check_uint(name: str, value: int, bits: int, offset: int) -> None:
    """OtaBuildError unless ``value`` fits an unsigned field of ``bits`` bits."""
    if not 0 <= value < 1 << bits:
        raise OtaBuildError(f"{name} {value!r} does not fit in {bits} bits", offset)
