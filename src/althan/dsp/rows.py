"""Records read from the store: a dataclass built from the columns of a row that bear its
fields' names."""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


@cache
def _names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def from_row(cls: type[T], row: Any, **given: Any) -> T:
    """A `cls` whose fields are `row`'s columns of the same names, except those in `given`
    (a column stored under another name, or converted on its way out of the store)."""
    columns = row._mapping
    return cls(**{n: given[n] if n in given else columns[n] for n in _names(cls)})
