"""Typed errors of the GBCS room: every malformed input maps to one of these."""

from __future__ import annotations


class GbcsError(Exception):
    """Base class of every GBCS error. ``offset`` is the byte offset of the problem, if known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at offset {offset})")


class GbcsTruncatedError(GbcsError):
    """The input ends before a field it announces."""


class GbcsLengthError(GbcsError):
    """A length field is malformed, non-minimal or inconsistent."""


class GbcsFramingError(GbcsError):
    """The MAC header / General-Signing framing is not what GBCS defines."""


class GbcsPayloadError(GbcsError):
    """A use-case payload (ASN.1 DER or DLMS) does not match its definition."""


class GbcsCryptoError(GbcsError):
    """A key is unusable, or a signature/MAC cannot be produced."""


class GbcsKeyError(GbcsError):
    """A keystore does not hold a key that is asked for, or cannot be read."""


class GbcsRefusedError(GbcsError):
    """A device refuses a command: its MAC or its remote party's signature does not verify
    with the keys the device holds."""
