"""The Smart Metering Inventory: device records and the CHF device logs."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from lxml import etree
from sqlalchemy import Connection, bindparam, func, select

from althan.dsp.bodies import SR
from althan.model import EUI64, DeviceType
from althan.store.tables import chf_device_log, devices


def text(parent: etree._Element, name: str) -> str | None:
    """Text of the first ``sr:<name>`` child, or None."""
    e = parent.find(f"{{{SR}}}{name}")
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


def child(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(f"{{{SR}}}{name}")


_DEVICE = select(devices).where(devices.c.eui == bindparam("eui", type_=devices.c.eui.type))


def get_device(conn: Connection, eui: EUI64) -> Any:
    return conn.execute(_DEVICE, {"eui": eui}).first()


def type1_count(conn: Connection, chf: EUI64) -> int:
    q = (
        select(func.count())
        .select_from(chf_device_log.join(devices, devices.c.eui == chf_device_log.c.device))
        .where(
            chf_device_log.c.chf == chf,
            devices.c.device_type.in_([DeviceType.PPMID.value, DeviceType.HCALCS.value]),
        )
    )
    return int(conn.execute(q).scalar_one())


def is_althan(row: Any) -> bool:
    return row is not None and row.device_type == DeviceType.PPMID.value and bool(row.variant)


def may_act(row: Any, user: EUI64) -> bool:
    """The responsible supplier may act on its devices."""
    return row is not None and row.supplier == user
