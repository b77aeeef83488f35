"""The DUIS XML Schema, with the SECMP0170 (MP170) overlay applied in memory (DESIGN §3).

Sources:

* default: the DUIS 5.1 schema inside the DCC Boxed tool (`node_modules/@smartdcc/
  duis-sign-wrap/dist/tool.jar`), read straight from the jar, so the schema we check
  against is the one the reference tool checks against;
* a directory holding `DUIS Schema V<x.y>.xsd` with its imports (`MMC Schema V<x.y>.xsd`,
  `xmldsig-core-schema.xsd`), such as the 5.4 reference folder;
* a jar / zip file with the same members.

The imports (whose file names contain spaces) are served from memory by an lxml resolver;
nothing is fetched from disk by libxml2 itself and nothing from the network.

The overlay (idempotent; every document valid before stays valid):

* simple type `AltHANDeviceVariant`: enumeration B1 B2 B3 B4;
* optional element `AltHANDeviceVariant` right after `ESMEVariant` in the complex types
  `DevicePrenotification` (SRV 12.2), `UpdateDeviceDetails` (8.4) and `Device` (the
  `DSPInventory` entry of 8.2 responses);
* response codes `E120204`, `E080724`, `E080823` in the `ResponseCode` enumeration (5.1 and
  5.4 already have `E120204`).

Version selection (`SchemaSet.for_document`): a document's `schemaVersion` picks the loaded
schema of exactly that version; any other version (DCC reference templates say "5.4" while the
DCC Boxed tool carries 5.1; a user may send "5.2" or "6") falls back to the set's default
schema. Versions are compared as text after normalising "5.10" -> "5.10", "5.4.0" -> "5.4".
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from lxml import etree

from althan.duis.namespaces import SR_NS, XS_NS
from althan.duis.peers import PeerMissing, peer_file
from althan.files import read_dir_or_jar

__all__ = [
    "ALT_HAN_VARIANTS",
    "MP170_RESPONSE_CODES",
    "DuisSchema",
    "SchemaError",
    "SchemaInvalid",
    "SchemaLoadError",
    "SchemaSet",
    "export_overlaid",
    "find_tool_jar",
]

_XS = f"{{{XS_NS}}}"

ALT_HAN_VARIANTS: tuple[str, ...] = ("B1", "B2", "B3", "B4")
MP170_RESPONSE_CODES: tuple[str, ...] = ("E120204", "E080724", "E080823")
_OVERLAY_TYPES: tuple[str, ...] = ("DevicePrenotification", "UpdateDeviceDetails", "Device")

_FACET_RE = re.compile(r"\[facet '([A-Za-z]+)'\]")
_MAIN_RE = re.compile(r"^DUIS Schema V(\d+(?:\.\d+)*)\.xsd$")
_URL_PREFIX = "althan-duis-schema:///"


class SchemaError(Exception):
    """Base class of the errors of this module."""


class SchemaLoadError(SchemaError):
    """The schema source is missing, incomplete, or the overlay cannot be applied."""


class SchemaInvalid(SchemaError):
    """A document does not conform to the (overlaid) DUIS schema.

    `path` is where (local names from the root, e.g. ``Request/Body/UpdatePPMIDFirmware/
    FirmwareImage``) and `facet` which restriction failed (e.g. ``maxLength``), when libxml2
    says so.
    """

    def __init__(
        self, message: str, *, line: int | None = None, path: str = "", facet: str = ""
    ) -> None:
        super().__init__(message)
        self.line = line
        self.path = path
        self.facet = facet


def find_tool_jar(start: Path | None = None) -> Path:
    """Locate the DCC Boxed tool.jar: env `ALTHAN_NODE_MODULES`, else `node_modules` found by
    walking up from `start` (default: the working directory) and from this source file."""
    try:
        return peer_file("duis-sign-wrap", "dist", "tool.jar", start=start).resolve()
    except PeerMissing as exc:
        raise SchemaLoadError(f"{exc} (or set ALTHAN_NODE_MODULES)") from None


def _schema_file(name: str) -> bool:
    return name.lower().endswith((".xsd", ".dtd"))


def _read_source(source: Path) -> dict[str, bytes]:
    what = f"schema source {source}"
    files = read_dir_or_jar(source, _schema_file, SchemaLoadError, what)
    if files is None and source.is_file() and source.suffix.lower() == ".xsd":
        # one schema document: the folder it lies in, with it as the main document
        files = read_dir_or_jar(source.parent, _schema_file, SchemaLoadError, what)
        if files is not None:
            files["\0main"] = source.name.encode()
    if files is None:
        raise SchemaLoadError(f"schema source {source} is not a directory, jar or .xsd")
    return files


def _main_name(files: Mapping[str, bytes], source: Path) -> tuple[str, str]:
    chosen = files.get("\0main")
    if chosen is not None:
        name = chosen.decode()
        m = _MAIN_RE.match(name)
        return name, (m.group(1) if m else "unknown")
    mains = sorted(
        ((m.group(1), n) for n in files if (m := _MAIN_RE.match(n))),
        key=lambda vn: tuple(int(x) for x in vn[0].split(".")),
    )
    if not mains:
        raise SchemaLoadError(f"no 'DUIS Schema V<x.y>.xsd' in {source}")
    version, name = mains[-1]
    return name, version


def _schema_parser() -> etree.XMLParser:
    # Trusted local files, but still: no network, no external DTD, no entity expansion.
    return etree.XMLParser(
        load_dtd=False, resolve_entities=False, no_network=True, remove_comments=True
    )


def _apply_overlay(root: etree._Element) -> None:
    """MP170 overlay on the main DUIS schema document (in place, idempotent)."""

    def top(kind: str, name: str) -> etree._Element | None:
        for el in root.iterchildren(f"{_XS}{kind}"):
            if el.get("name") == name:
                return el
        return None

    if top("simpleType", "AltHANDeviceVariant") is None:
        st = etree.SubElement(root, f"{_XS}simpleType", name="AltHANDeviceVariant")
        rs = etree.SubElement(st, f"{_XS}restriction", base="xs:string")
        for v in ALT_HAN_VARIANTS:
            etree.SubElement(rs, f"{_XS}enumeration", value=v)

    for type_name in _OVERLAY_TYPES:
        ct = top("complexType", type_name)
        if ct is None:
            raise SchemaLoadError(f"overlay: complex type {type_name!r} not in the schema")
        seq = ct.find(f"{_XS}sequence")
        if seq is None:
            raise SchemaLoadError(f"overlay: complex type {type_name!r} has no sequence")
        names = [e.get("name") for e in seq.iterchildren(f"{_XS}element")]
        if "AltHANDeviceVariant" in names:
            continue
        anchor = next(
            (e for e in seq.iterchildren(f"{_XS}element") if e.get("name") == "ESMEVariant"),
            None,
        )
        if anchor is None:
            raise SchemaLoadError(f"overlay: no ESMEVariant element in {type_name!r}")
        new = etree.SubElement(seq, f"{_XS}element")
        new.set("minOccurs", "0")
        new.set("name", "AltHANDeviceVariant")
        new.set("type", f"{_prefix_for(root, SR_NS)}:AltHANDeviceVariant")
        anchor.addnext(new)

    rc = top("simpleType", "ResponseCode")
    if rc is None:
        raise SchemaLoadError("overlay: simple type 'ResponseCode' not in the schema")
    restriction = rc.find(f"{_XS}restriction")
    if restriction is None:
        raise SchemaLoadError("overlay: 'ResponseCode' is not a restriction")
    present = {e.get("value") for e in restriction.iterchildren(f"{_XS}enumeration")}
    for code in MP170_RESPONSE_CODES:
        if code not in present:
            etree.SubElement(restriction, f"{_XS}enumeration", value=code)


def _prefix_for(root: etree._Element, ns: str) -> str:
    for prefix, uri in root.nsmap.items():
        if uri == ns and prefix:
            return prefix
    raise SchemaLoadError(f"overlay: the schema declares no prefix for {ns}")


_LOCATION_RE = re.compile(rb'schemaLocation\s*=\s*(["\'])([^"\']*)\1')


def _safe_name(name: str) -> str:
    return name.replace(" ", "_")


def _rewrite_locations(data: bytes) -> bytes:
    return _LOCATION_RE.sub(
        lambda m: b"schemaLocation=" + m.group(1) + m.group(2).replace(b" ", b"_") + m.group(1),
        data,
    )


class _MemoryResolver(etree.Resolver):
    def __init__(self, files: Mapping[str, bytes]) -> None:
        super().__init__()
        self._files = files

    def resolve(self, system_url: str, public_id: str, *args: Any) -> Any:
        context = args[0] if args else None
        name = unquote(system_url.rsplit("/", 1)[-1])
        data = self._files.get(name)
        if data is None:
            return None
        return self.resolve_string(data, context, base_url=_URL_PREFIX + name)


@dataclass(frozen=True, eq=False)
class DuisSchema:
    """A compiled DUIS schema (with the MP170 overlay). Use `DuisSchema.load`."""

    version: str
    source: str
    _schema: etree.XMLSchema = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, source: Path | None = None, *, overlay: bool = True) -> DuisSchema:
        """Load and compile (cached per resolved source path and overlay flag)."""
        src = find_tool_jar() if source is None else Path(source)
        try:
            key = str(src.resolve())
        except OSError as exc:
            raise SchemaLoadError(f"bad schema source {src}: {exc}") from None
        return _load_cached(key, overlay)

    @classmethod
    def _compile(cls, source: Path, overlay: bool) -> DuisSchema:
        files = _read_source(source)
        main, version = _main_name(files, source)
        # libxml2 will not even hand "MMC Schema V5.1.xsd" to a resolver: serve every file
        # under a space-free name and rewrite the schemaLocations to match.
        served = {
            _safe_name(k): _rewrite_locations(v) if k.lower().endswith(".xsd") else v
            for k, v in files.items()
            if not k.startswith("\0")
        }
        main_url = _URL_PREFIX + _safe_name(main)
        parser = _schema_parser()
        parser.resolvers.add(_MemoryResolver(served))
        try:
            root = etree.fromstring(served[_safe_name(main)], parser, base_url=main_url)
        except etree.XMLSyntaxError as exc:
            raise SchemaLoadError(f"{main}: not well-formed: {exc}") from None
        if overlay:
            root = copy.deepcopy(root)
            _apply_overlay(root)
            # re-parse the overlaid bytes so that line numbers and the resolver context hold
            data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            root = etree.fromstring(data, parser, base_url=main_url)
        try:
            compiled = etree.XMLSchema(root)
        except etree.XMLSchemaParseError as exc:
            raise SchemaLoadError(f"{main}: does not compile: {exc}") from None
        return cls(version=version, source=str(source), _schema=compiled)

    def validate(self, doc: etree._Element | etree._ElementTree) -> None:
        """Raise `SchemaInvalid` (first libxml2 error, with its line) unless `doc` conforms."""
        with self._lock:  # the error log lives on the schema object
            ok = self._schema.validate(doc)
            if ok:
                return
            errors = list(cast(Iterable[Any], self._schema.error_log))
        if not errors:
            raise SchemaInvalid("schema-invalid (no detail from libxml2)")
        e = errors[0]
        line = e.line or None
        where = f"line {e.line}: " if e.line else ""
        path = "/".join(p.rsplit(":", 1)[-1] for p in (e.path or "").split("/") if p)
        facet = _FACET_RE.search(e.message or "")
        raise SchemaInvalid(
            f"{where}{e.message}", line=line, path=path, facet=facet.group(1) if facet else ""
        )

    def is_valid(self, doc: etree._Element | etree._ElementTree) -> bool:
        try:
            self.validate(doc)
        except SchemaInvalid:
            return False
        return True


def export_overlaid(source: Path | None, dest: Path) -> list[Path]:
    """Write the schema of `source` (default: the reference tool's 5.1) into `dest`, the MP170
    overlay applied to its main document, every other file as it is, under the source's own
    names: a tool that reads ``DUIS Schema V5.1.xsd`` from its class path reads the overlaid
    one when `dest` comes first on that path."""
    src = find_tool_jar() if source is None else Path(source)
    files = _read_source(src)
    main, _version = _main_name(files, src)
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in sorted(files.items()):
        if name.startswith("\0"):
            continue
        if name == main:
            root = etree.fromstring(data, _schema_parser())
            _apply_overlay(root)
            data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        path = dest / name
        path.write_bytes(data)
        written.append(path)
    return written


@functools.lru_cache(maxsize=16)
def _load_cached(key: str, overlay: bool) -> DuisSchema:
    return DuisSchema._compile(Path(key), overlay)


def _norm_version(v: str) -> str:
    parts = v.strip().split(".")
    while len(parts) > 2 and parts[-1] == "0":
        parts.pop()
    return ".".join(p.lstrip("0") or "0" for p in parts)


class SchemaSet:
    """Schemas by version; picks one by a document's `schemaVersion` attribute.

    An exact version match wins; any other (or missing) version uses the default schema.
    """

    def __init__(self, schemas: Iterable[DuisSchema], *, default: str | None = None) -> None:
        by_version: dict[str, DuisSchema] = {}
        for s in schemas:
            by_version.setdefault(_norm_version(s.version), s)
        if not by_version:
            raise SchemaLoadError("a SchemaSet needs at least one schema")
        self._by_version = by_version
        if default is None:
            self._default = next(iter(by_version.values()))
        else:
            d = by_version.get(_norm_version(default))
            if d is None:
                raise SchemaLoadError(f"default version {default!r} is not loaded")
            self._default = d

    @classmethod
    def load(cls, sources: Iterable[Path | None] = (None,)) -> SchemaSet:
        """Load each source (None = the jar's 5.1); the first is the default."""
        return cls([DuisSchema.load(s) for s in sources])

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(self._by_version)

    @property
    def default(self) -> DuisSchema:
        return self._default

    def for_version(self, version: str | None) -> DuisSchema:
        if version is None:
            return self._default
        return self._by_version.get(_norm_version(version), self._default)

    def for_document(self, doc: etree._Element) -> DuisSchema:
        return self.for_version(doc.get("schemaVersion"))

    def validate(self, doc: etree._Element) -> DuisSchema:
        """Validate `doc` with the schema its version picks; return that schema."""
        schema = self.for_document(doc)
        schema.validate(doc)
        return schema
