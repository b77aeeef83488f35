"""Where the DCC Boxed npm peers live (node_modules/@smartdcc/...), found at run time.

`make setup` installs them with `npm ci`; nothing from them is copied into the package.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


class PeerMissing(FileNotFoundError):
    pass


@cache
def node_modules() -> Path:
    """ALTHAN_NODE_MODULES, else the nearest node_modules above the cwd or this source file."""
    env = os.environ.get("ALTHAN_NODE_MODULES")
    if env:
        p = Path(env)
        if (p / "@smartdcc").is_dir():
            return p
        raise PeerMissing(f"ALTHAN_NODE_MODULES={env} holds no @smartdcc packages")
    for start in (Path.cwd(), Path(__file__).resolve()):
        for d in (start, *start.parents):
            cand = d / "node_modules"
            if (cand / "@smartdcc").is_dir():
                return cand
    raise PeerMissing("node_modules/@smartdcc not found: run `make setup` (npm ci)")


def peer_file(*parts: str) -> Path:
    p = node_modules().joinpath("@smartdcc", *parts)
    if not p.exists():
        raise PeerMissing(f"{p} missing: run `make setup` (npm ci)")
    return p
