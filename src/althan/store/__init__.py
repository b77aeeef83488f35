"""althan.store: the DSP's system of record (SQLAlchemy Core), image store and outbox."""

from althan.store.db import open_engine, sqlite_url
from althan.store.images import ImageNotFound, ImageStore

__all__ = ["ImageNotFound", "ImageStore", "open_engine", "sqlite_url"]
