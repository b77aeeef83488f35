"""The SRV table: every Service Request Variant the DSP serves, and its handler.

To serve another SRV, write its handler (``(Ctx) -> Handled``, raising `Reject` to refuse) in
the module of its family and add one `Route` to that module's ``ROUTES``; `ROUTES` here joins
the families. `runtime.assemble` passes the table to the DSP. A variant not in the table is
answered E21.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Final

from althan.dsp import srv_8, srv_11, srv_12, srv_critical
from althan.dsp.context import ResponseHandler, Route

ROUTES: Final[tuple[Route, ...]] = (
    *srv_8.ROUTES,
    *srv_11.ROUTES,
    *srv_12.ROUTES,
    *srv_critical.ROUTES,
)


class Routes(Mapping[str, Route]):
    """Routes by Service Reference Variant; a variant given twice is an error."""

    def __init__(self, routes: Iterable[Route] = ROUTES) -> None:
        self._by_variant: dict[str, Route] = {}
        for r in routes:
            if r.variant in self._by_variant:
                raise ValueError(f"SRV {r.variant} is routed twice")
            self._by_variant[r.variant] = r

    def __getitem__(self, variant: str) -> Route:
        return self._by_variant[variant]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_variant)

    def __len__(self) -> int:
        return len(self._by_variant)

    def response_handlers(self) -> dict[str, ResponseHandler]:
        return {v: r.on_response for v, r in self._by_variant.items() if r.on_response}
