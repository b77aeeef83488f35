"""The column kinds the migrations under versions/ write, one helper each (NOT NULL unless told).

The migrations restate the tables as they were (docs/architecture.md), so what a helper emits
must never change: a column of another kind is another helper.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def serial(name: str) -> sa.Column[Any]:
    """A surrogate key the database numbers."""
    return sa.Column(name, sa.Integer(), autoincrement=True, nullable=False)


def integer(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def bigint(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A 64-bit integer: an EUI-64 (as a signed BIGINT), a counter, a size."""
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def string(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A timestamp with its time zone."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def text(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def binary(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.LargeBinary(), nullable=False)
