"""A supplier's DUIS client: builds and signs Service Requests (`RequestBuilder`) and POSTs them
to a DCC's DUIS web services, as a DCC Boxed user does; it works against althan or DCC Boxed.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from althan.duis.service_requests import RequestBuilder, SignedRequest

__all__ = ["DuisClient", "SignedRequest", "SyncAnswer"]


@dataclass(frozen=True, slots=True)
class SyncAnswer:
    """The DCC's synchronous answer to a request (signed XML, not yet verified)."""

    http_status: int
    body: bytes


class DuisClient(RequestBuilder):
    """One user's requests, and the HTTP to send them: ``post(dcc_url, request)``."""

    def post(self, dcc_url: str, req: SignedRequest, *, timeout: float = 30.0) -> SyncAnswer:
        """POST `req` to ``<dcc_url>/api/v1/service<D|S|T>`` (the one its CV picks)."""
        r = httpx.post(
            f"{dcc_url.rstrip('/')}/api/v1/service{req.service}",
            content=req.xml,
            headers={"content-type": "application/xml"},
            timeout=timeout,
        )
        return SyncAnswer(r.status_code, r.content)
