"""Where the DCC Boxed npm peers live (node_modules/@smartdcc/...), found at run time.

`make setup` installs them with `npm ci`; nothing from them is copied into the package.
"""

from __future__ import annotations

import os
from pathlib import Path


class PeerMissing(FileNotFoundError):
    pass


def node_modules(start: Path | None = None) -> Path:
    """ALTHAN_NODE_MODULES, else the nearest node_modules above `start` (default: the cwd)
    or this source file."""
    env = os.environ.get("ALTHAN_NODE_MODULES")
    if env:
        p = Path(env)
        if (p / "@smartdcc").is_dir():
            return p
        raise PeerMissing(f"ALTHAN_NODE_MODULES={env} holds no @smartdcc packages")
    for s in (start or Path.cwd(), Path(__file__).resolve()):
        for d in (s, *s.parents):
            cand = d / "node_modules"
            if (cand / "@smartdcc").is_dir():
                return cand
    raise PeerMissing("node_modules/@smartdcc not found: run `make setup` (npm ci)")


def peer_file(*parts: str, start: Path | None = None) -> Path:
    p = node_modules(start).joinpath("@smartdcc", *parts)
    if not p.exists():
        raise PeerMissing(f"{p} missing: run `make setup` (npm ci)")
    return p


def keystore_json() -> Path:
    """The DCC Boxed keystore (ZAZ1 remote-party GBCS keys) of `@smartdcc/dccboxed-keystore`."""
    return peer_file("dccboxed-keystore", "keystore.json")
