"""Named files read from a directory or a jar: the one reader of the rooms that load what a tool
ships (the DUIS schema and the ZAZ1 test PKI, both inside the DCC Boxed ``tool.jar``).

Like `model`, this room imports no other; unlike `model`, it does I/O.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["read_dir_or_jar"]


def read_dir_or_jar(
    source: Path, wanted: Callable[[str], bool], error: type[Exception], what: str
) -> dict[str, bytes] | None:
    """The files of `source`, a directory or a jar (zip), whose base names `wanted` accepts,
    by base name (a jar's folders do not count: of two members with one base name, the later
    wins); None when `source` is neither a directory nor a jar.

    Raises `error` with the caller's words: ``cannot read <what>: <OSError>`` (`what` names the
    source, e.g. ``"schema source /x/tool.jar"``) or ``bad jar <source>: <zip error>``.
    """
    files: dict[str, bytes] = {}
    try:
        if source.is_dir():
            for p in source.iterdir():
                if wanted(p.name) and p.is_file():
                    files[p.name] = p.read_bytes()
        elif source.is_file() and zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as z:
                for name in z.namelist():
                    base = name.rsplit("/", 1)[-1]
                    if wanted(base):
                        files[base] = z.read(name)
        else:
            return None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc}") from None
    except zipfile.BadZipFile as exc:
        raise error(f"bad jar {source}: {exc}") from None
    return files
