"""Firmware images, stored once by SHA-256, outside the row tables."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class ImageNotFound(LookupError):
    pass


class ImageStore:
    """Content-addressed files: ``<root>/<sha[:2]>/<sha>``; a write is atomic (temp + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        p = self.path(sha)
        if p.exists():
            return sha
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise ImageNotFound(sha256) from exc

    def remove(self, sha256: str) -> None:
        """Forget an image (a staging area's; the DSP's images are kept for ever)."""
        self.path(sha256).unlink(missing_ok=True)

    def __contains__(self, sha256: object) -> bool:
        return isinstance(sha256, str) and self.path(sha256).exists()

    def count(self) -> int:
        return sum(1 for p in self.root.glob("*/*") if not p.name.startswith("."))
