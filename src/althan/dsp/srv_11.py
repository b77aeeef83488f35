"""SRV 11.x for PPMIDs and Alt HAN bridges: 11.4 Update PPMID Firmware, 11.2 Read Firmware Version.

11.4 is set-based: one statement checks all (up to 50,000) devices and inserts the deliveries
of those that proceed (`althan.dsp.fanout`), only the others are read back for the warning
lists, and one SM WAN distribution per CSP region references the image (stored once, by
SHA-256) and carries its CH target list.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from althan import gbcs
from althan.dsp import catalogue as C
from althan.dsp import cpl, fanout, firmware, gbcs_out, records, smi
from althan.dsp.bodies import FirmwareVersionMismatch, update_ppmid_firmware_warning
from althan.dsp.context import Ctx, Handled, Reject, ResponseCtx, Route
from althan.dsp.srv_8 import actionable, known
from althan.duis.namespaces import base64_binary
from althan.duis.namespaces import sr_text as text
from althan.model import Region
from althan.smwan.codec import encode_distribution_ref
from althan.store.bulk import id_text
from althan.store.types import eui_from_db, eui_texts_from_db, eui_to_db, euis_to_db
from althan.zigbee.ota import OtaError, OtaImage, parse_ota

_TYPES = fanout.TYPES
_COMMISSIONED = fanout.COMMISSIONED
_MIN_GBCS_VERSION = fanout.MIN_GBCS_VERSION


def _image(ctx: Ctx) -> tuple[bytes, OtaImage, str]:
    """The request's image, its parsed form and version (E110401). Its size is bounded by the
    schema (FirmwareImage maxLength 10,240,000: E110402, `duis_io.SCHEMA_RULE_CODES`)."""
    b = ctx.req.body
    data = base64_binary(text(b, "FirmwareImage"))
    if data is None:
        raise Reject(C.E110401, "FirmwareImage is not base64")
    try:
        img = parse_ota(data)
    except OtaError as exc:
        raise Reject(C.E110401, f"not a ZigBee OTA upgrade file: {exc}") from exc
    version = (text(b, "FirmwareVersion") or "").upper()
    if version != img.header.file_version_hex:
        raise Reject(C.E110401, f"FirmwareVersion {version} is not the image's version")
    return data, img, version


def applicable(
    manufacturer: str, model: str, img: OtaImage, entries: Sequence[cpl.CplEntry]
) -> bool:
    """Requirement 12: an Active CPL entry for exactly this image, for this model and hardware,
    within the image header's own hardware range."""
    model_id, hw = cpl.split_model(model)
    h = img.header
    if manufacturer.upper() != h.manufacturer_hex or model_id != h.image_type_hex:
        return False
    if hw is None:
        return False
    if h.minimum_hardware_version is not None and hw < h.minimum_hardware_version:
        return False
    if h.maximum_hardware_version is not None and hw > h.maximum_hardware_version:
        return False
    return any(
        e.manufacturer == manufacturer.upper()
        and e.model == model_id
        and e.hw_min <= hw <= e.hw_max
        for e in entries
    )


def classify(
    requested: Sequence[int],
    rows: dict[int, Any],
    busy: set[int],
    user: int,
    fits: Callable[[str, str], bool],
) -> tuple[dict[str, list[int]], list[Any]]:
    """The five warning lists of DSPUpdatePPMIDFirmwareWarning, and the rows that proceed.

    Per device, in this order: unknown, not a Type 1 device or not the user's → Invalid; not
    Commissioned behind a CHF → NotCommissioned; no Active CPL entry for the image, model and
    hardware → NotApplicableFirmware; a delivery in progress → OtherRequestInProgress; GBCS
    older than 2.0 → InvalidGBCSVersion.
    """
    lists: dict[str, list[int]] = defaultdict(list)
    go: list[Any] = []
    for dev in requested:
        r = rows.get(dev)
        if r is None or r.device_type not in _TYPES or r.supplier != user:
            lists["InvalidDeviceIDList"].append(dev)
        elif r.status != _COMMISSIONED or r.chf is None:
            lists["NotCommissionedDeviceIDList"].append(dev)
        elif not fits(r.manufacturer, r.model):
            lists["NotApplicableFirmwareDeviceIDList"].append(dev)
        elif dev in busy:
            lists["OtherRequestInProgressList"].append(dev)
        elif r.gbcs_version is not None and r.gbcs_version < _MIN_GBCS_VERSION:
            lists["InvalidGBCSVersionList"].append(dev)
        else:
            go.append(r)
    return lists, go


def srv_11_4(ctx: Ctx) -> Handled:
    """11.4 Update PPMID Firmware: check every device, hand the image to their CSPs.

    The devices that proceed are checked and get their deliveries in the store, in one
    statement (`althan.dsp.fanout`); only the others are read back, for `classify` to list."""
    data, img, version = _image(ctx)
    ids_text = text(ctx.req.body, "DeviceIDList") or ""
    # the schema's pattern guarantees hyphenated hex EUIs; the stored form is signed 64-bit
    requested = list(dict.fromkeys(euis_to_db(ids_text)))
    limit = ctx.services.settings.max_11_4_devices
    if len(requested) > limit:
        raise Reject(C.E110403, f"{len(requested):,} devices named; at most {limit:,}")

    conn = ctx.conn
    sha = hashlib.sha256(data).hexdigest()
    entries = cpl.active_for_image(conn, sha)
    memo: dict[tuple[str, str], bool] = {}

    def fits(manufacturer: str, model: str) -> bool:
        key = (manufacturer, model)
        if key not in memo:
            memo[key] = applicable(manufacturer, model, img, entries)
        return memo[key]

    user = eui_to_db(ctx.user)
    ids = id_text(requested)
    found = fanout.models(conn, ids, user) if entries else []
    fitting = [p for p in found if fits(*p)]
    rid = ctx.req.request_id
    go = fanout.start(
        conn,
        request_id=str(rid),
        ids=ids,
        user=user,
        fitting=fitting,
        every_model_fits=bool(entries) and len(fitting) == len(found),
        image_sha256=sha,
        version=version,
        now=ctx.now,
        deadline=ctx.now + ctx.services.settings.delivery_timeout,
    )
    devs: tuple[int, ...] = ()
    if go:
        firmware.keep_image(conn, ctx.services.images, data, img, ctx.now)
        _ids, devs, chfs, regions = zip(*go, strict=True)
        by_region: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for region, chf, dev in zip(
            regions, eui_texts_from_db(chfs), eui_texts_from_db(devs), strict=True
        ):
            by_region[region].append((chf, dev))
        ctx.effects.smwan_encoded(
            [
                (
                    Region(region),
                    encode_distribution_ref(f"fd:{rid}:{region}", str(rid), sha, targets),
                )
                for region, targets in sorted(by_region.items())
            ]
        )
    if len(go) < len(requested):
        started = set(devs)
        rest = [d for d in requested if d not in started]
    else:
        rest = []
    lists: dict[str, list[int]] = {}
    if rest:
        rows, busy = fanout.rows_of(conn, id_text(rest))
        lists, stray = classify(rest, rows, busy, user, fits)
        if stray:  # the statement's checks and classify's disagree: a bug, not a warning
            raise RuntimeError(f"11.4: {len(stray)} devices passed classify but not the store")
    if lists:
        firmware.record_warnings(conn, ctx.req.request_id, lists)
        warnings = {k: [eui_from_db(d) for d in v] for k, v in lists.items()}
        return Handled(C.W110401, update_ppmid_firmware_warning(warnings), len(go))
    return Handled(C.I0, None, len(go))


def srv_11_2(ctx: Ctx) -> Handled:
    """11.2 Read Firmware Version of a PPMID / Alt HAN bridge: GBCS CS08 via the ACB."""
    row = known(ctx, ctx.req.target)
    if row.device_type not in _TYPES:
        raise Reject(C.E21, f"11.2 for a {row.device_type} is not supported by althan")
    actionable(ctx, row)
    payload = gbcs_out.command(
        ctx.services.gbcs_keys,
        gbcs.ReadFirmwareVersionCommand(),
        target=ctx.req.target,
        user=ctx.user,
        counter=ctx.req.counter,
        when=ctx.now,
    )
    ctx.effects.command(
        ctx.req.request_id,
        ctx.srv,
        device=ctx.req.target,
        chf=row.chf,
        region=smi.region_of(row),
        payload=payload,
    )
    return Handled(C.I99, device_count=1)


def version_read(r: ResponseCtx) -> None:
    """The device's CS08 response: when the SMI held another version, it takes the device's
    and the user gets N42 (FirmwareVersionMismatch)."""
    if not r.ok or r.result is None or not r.result.firmware_version:
        return
    device = r.command.device
    row = smi.get_device(r.conn, device)
    found = r.result.firmware_version
    if row is None or row.firmware_version == found:
        return
    body = FirmwareVersionMismatch(
        device, row.device_type, row.firmware_version or "00000000", found
    )
    smi.set_firmware_version(
        r.conn, row, found, r.now, records.Source.READ_BACK, str(r.command.request_id)
    )
    r.effects.alert(r.command.user, body, device=device)


ROUTES = (
    Route("11.4", srv_11_4, body="UpdatePPMIDFirmware"),
    Route("11.2", srv_11_2, on_response=version_read, body="ReadFirmwareVersion"),
)
