"""The GBCS use cases this room types, one module per use case (or small family), and the
registry built from them: one table, keyed by message code.

Each module declares its payload types (each encodes itself and its class decodes it) and a
``USE_CASES`` tuple of :class:`UseCase` rows (message code, GBCS name, decoder per CRA flag).
To type a new use case, write its module and add its ``USE_CASES`` to :data:`USE_CASES` below.
"""

from __future__ import annotations

from typing import Any

from althan.gbcs.codec import Reader
from althan.gbcs.errors import GbcsPayloadError
from althan.gbcs.usecases import ccs08, cs02b, cs02d, cs08, cs09, device_log, join
from althan.gbcs.usecases.base import RawPayload, UseCase

USE_CASES: tuple[UseCase, ...] = (
    *device_log.USE_CASES,
    *cs02d.USE_CASES,
    *join.USE_CASES,
    *cs02b.USE_CASES,
    *ccs08.USE_CASES,
    *cs08.USE_CASES,
    *cs09.USE_CASES,
)
"""Every typed use case. ECS70 (``ecs70``) is built but not typed: it decodes as RawPayload."""

BY_CODE: dict[int, UseCase] = {uc.code: uc for uc in USE_CASES}


def use_case_name(message_code: int) -> str:
    """The GBCS use case of a message code ("CS08"), or "0xNNNN" when not typed here."""
    uc = BY_CODE.get(message_code)
    return uc.name if uc is not None else f"0x{message_code:04X}"


def decode_payload(
    content: bytes, message_code: int, cra_flag: int, *, frame: bytes | None = None, offset: int = 0
) -> Any:
    """Decode ``content``; when it is a slice of ``frame`` at ``offset``, errors name the
    absolute offset in the frame.

    Use cases not typed here come back as RawPayload. Raises GbcsPayloadError (or a truncation
    error) when a typed use case does not match its definition.
    """
    uc = BY_CODE.get(message_code)
    dec = uc.decoder(cra_flag) if uc is not None else None
    if dec is None:
        return RawPayload(content)
    if frame is None:
        frame, offset = content, 0
    r = Reader(frame, offset, offset + len(content))
    payload = dec(r)
    if not r.at_end():
        raise GbcsPayloadError(
            f"{r.remaining} trailing bytes after {use_case_name(message_code)} payload", r.pos
        )
    if payload.encode() != content:
        raise GbcsPayloadError(
            f"{use_case_name(message_code)} payload is not in canonical form", offset
        )
    return payload
