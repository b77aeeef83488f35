"""A supplier keeps AltHANCo up to date: it submits the outcomes of its upgrades (device,
version, outcome, time; JSON or CSV) to the DCC's intake, signed with its own key
(`althan.smki.request_signature`), as `althan intake submit` does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from althan.model import EUI64
from althan.smki.request_signature import sign_request

INTAKE_PATH = "/api/v1/althanco/intake"


@dataclass(frozen=True, slots=True)
class IntakeAnswer:
    status: int
    body: dict[str, Any]


def submit_outcomes(
    dcc_url: str,
    user: EUI64,
    key: ec.EllipticCurvePrivateKey,
    body: bytes,
    content_type: str,
    submission: str,
    *,
    timeout: float = 30.0,
) -> IntakeAnswer:
    """POST `body` to ``<dcc_url>/api/v1/althanco/intake`` as `user`'s submission
    `submission`."""
    url = f"{dcc_url.rstrip('/')}{INTAKE_PATH}"
    headers = sign_request(
        key,
        method="POST",
        path=urlsplit(url).path,
        user=user,
        submission=submission,
        content_type=content_type,
        body=body,
    )
    r = httpx.post(url, content=body, headers=headers, timeout=timeout)
    try:
        answer = r.json()
    except ValueError:
        answer = {"error": r.text}
    return IntakeAnswer(r.status_code, answer if isinstance(answer, dict) else {"body": answer})
