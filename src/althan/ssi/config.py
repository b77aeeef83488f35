"""The SSI's settings (environment ``ALTHAN_SSI_*``): every default works on a laptop."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SsiConfig(BaseSettings):
    """How the Self-Service Interface behaves; read from ``ALTHAN_SSI_*`` when not given."""

    model_config = SettingsConfigDict(env_prefix="ALTHAN_SSI_", frozen=True)

    secret_key: str | None = None
    """Signs the session cookies. Unset: a key made once per store (shared by every process
    on that store) is used."""
    session_hours: float = 8.0
    """A session ends this long after sign-in."""
    https_only: bool = False
    """Mark the session cookie Secure (set it when the SSI is served over HTTPS)."""
    signin_window_minutes: float = 15.0
    max_failures_per_login: int = 5
    """Failed sign-ins for one login within the window before it is refused for a while."""
    max_failures_per_client: int = 20
    """Failed sign-ins from one client address within the window before it is refused."""
    max_upload_bytes: int = 10_240_000
    """The largest OTA file the CPL page accepts (the 11.4 limit); larger is refused while
    it streams in, and nothing of it is kept."""
    page_size: int = 50
    """Rows per page of a device search, a request log, a deployment's device table."""
    poll_seconds: float = 2.0
    """How often a deployment page's progress chart refreshes itself."""
