"""What each role sees: the rows of the store a principal's pages may show.

A supplier sees the devices its DUIS user is responsible for, and that user's requests,
alerts and messages; AltHANCo sees every Alt HAN device (a PPMID carrying a variant, whatever
its supplier) and its own DUIS user's traffic; a DCC operator sees everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column
from sqlalchemy.sql.elements import ColumnElement

from althan.dsp import smi
from althan.model import DeviceType
from althan.ssi.accounts import Role
from althan.ssi.web import Principal
from althan.store.bulk import raw
from althan.store.tables import devices
from althan.store.types import signed64


def devices_seen(who: Principal) -> list[ColumnElement[bool]]:
    """WHERE conditions on `devices` for the devices `who` may see."""
    if who.role is Role.SUPPLIER:
        return [devices.c.supplier == who.user]
    if who.role is Role.ALTHANCO:
        return [devices.c.device_type == DeviceType.PPMID.value, devices.c.variant.is_not(None)]
    return []


def device_filters(who: Principal) -> tuple[list[Any], list[ColumnElement[bool]]]:
    """`devices_seen` split for the search: equality filters (column as stored, value) and
    the rest."""
    if who.role is Role.SUPPLIER:
        assert who.user is not None
        return [(raw(devices.c.supplier), signed64(who.user.value))], []
    if who.role is Role.ALTHANCO:
        return [(devices.c.device_type, DeviceType.PPMID.value)], [devices.c.variant.is_not(None)]
    return [], []


def sees_device(who: Principal, row: Any) -> bool:
    if row is None:
        return False
    if who.role is Role.SUPPLIER:
        return bool(row.supplier is not None and row.supplier == who.user)
    if who.role is Role.ALTHANCO:
        return smi.is_althan(row)
    return True


def traffic_seen(who: Principal, user_column: Column[Any]) -> list[ColumnElement[bool]]:
    """WHERE conditions for requests/alerts whose DUIS user is `user_column`."""
    if who.role is Role.DCC:
        return []
    return [user_column == who.user]


def sees_traffic_of(who: Principal, user: object) -> bool:
    return who.role is Role.DCC or (who.user is not None and user == who.user)


TYPE_NAMES = {
    "ESME": "Electricity smart meter (ESME)",
    "GSME": "Gas smart meter (GSME)",
    "CHF": "Communications hub function (CHF)",
    "GPF": "Gas proxy function (GPF)",
    "PPMID": "Prepayment interface device (PPMID)",
    "HCALCS": "HAN-connected auxiliary load control switch (HCALCS)",
    "IHD": "In-home display (IHD)",
    "SAPC": "Standalone auxiliary proportional controller (SAPC)",
}


def device_kind(device_type: str, variant: str | None) -> str:
    """The real device type, as the SSI presents it (SECMP0170: an Alt HAN bridge is
    handled as a PPMID)."""
    if device_type == DeviceType.PPMID.value and variant:
        return f"Alt HAN P2P device, variant {variant} (handled as PPMID)"
    return TYPE_NAMES.get(device_type, device_type)
