"""ZigBee OTA cluster state machines at block level, on a small real OTA file."""

from __future__ import annotations

import hashlib

import pytest

from althan.zigbee.client import ClientState, OtaClient, RetryAt
from althan.zigbee.cluster import (
    UPGRADE_TIME_WAIT,
    ImageBlockRequest,
    OtaClusterError,
    OtaImageInfo,
    OtaServer,
    OtaStatus,
    UpgradeEndRequest,
    block_interval,
    blocks_between,
    offset_after,
)
from althan.zigbee.ota import parse_ota
from althan.zigbee.testimage import build_test_image

MFR, TYPE, OLD, NEW = 0x1A1C, 0x0B02, 0x01000000, 0x01000100


def _image(size: int = 1000) -> tuple[OtaImageInfo, str]:
    data = build_test_image(MFR, TYPE, NEW, min_hw=1, max_hw=2, payload_size=size)
    h = parse_ota(data).header
    info = OtaImageInfo(
        h.manufacturer_code,
        h.image_type,
        h.file_version,
        data,
        h.minimum_hardware_version,
        h.maximum_hardware_version,
    )
    return info, hashlib.sha256(data).hexdigest()


def _client(sha: str | None, hw: int = 1) -> OtaClient:
    return OtaClient(
        manufacturer_code=MFR,
        image_type=TYPE,
        file_version=OLD,
        hardware_version=hw,
        max_data_size=64,
        expected_sha256=sha,
    )


def _drive(
    server: OtaServer,
    client: OtaClient,
    req: ImageBlockRequest | None,
    now_ms: int,
    *,
    stop_after: int | None = None,
) -> tuple[object, int, int, int]:
    """Run block requests; the client asks again as soon as allowed. Returns (last, now, blocks,
    waits)."""
    blocks = waits = 0
    out: object = req
    while isinstance(out, ImageBlockRequest):
        if stop_after is not None and blocks >= stop_after:
            break
        rsp = server.handle_block("dev", out, now_ms)
        out = client.on_block_response(rsp, now_ms)
        if isinstance(out, RetryAt):
            waits += 1
            now_ms = out.at_ms
            out = out.request
        else:
            blocks += 1
            now_ms += 10  # airtime of one exchange
    return out, now_ms, blocks, waits


def _state(client: OtaClient) -> ClientState:
    """The client's state, read afresh (mypy would keep an earlier narrowing of the attribute)."""
    return client.state


def test_full_download_with_pacing_and_held_activation() -> None:
    info, sha = _image()
    server = OtaServer(info, min_block_period_ms=250, max_block_size=64, hold_activation=True)
    client = _client(sha)
    q = client.on_image_notify(server.image_notify())
    assert q is not None
    rsp = server.handle_query("dev", q)
    assert rsp.status == OtaStatus.SUCCESS and rsp.image_size == info.size
    req = client.on_query_response(rsp)
    assert req is not None and req.file_offset == 0
    end, now_ms, blocks, waits = _drive(server, client, req, 0)
    assert isinstance(end, UpgradeEndRequest) and end.status == OtaStatus.SUCCESS
    assert client.received is not None and bytes(client.received) == info.data
    assert blocks == blocks_between(0, info.size, 64) == server.blocks_served
    assert waits == blocks - 1  # every request after the first came too early: WAIT_FOR_DATA
    # the aggregate arithmetic the HAN model uses gives the same duration
    iv = block_interval(min_block_period_s=0.25, airtime_s=0.01)
    assert now_ms / 1000 == pytest.approx((blocks - 1) * iv + 0.01)
    ue = server.handle_upgrade_end("dev", end, now_ms)
    assert ue is not None and ue.upgrade_time == UPGRADE_TIME_WAIT
    assert client.on_upgrade_end_response(ue, now_ms // 1000) is None
    assert _state(client) is ClientState.WAITING_TO_ACTIVATE
    rel = server.release("dev", now_ms + 60_000, delay_s=5)
    assert client.on_upgrade_end_response(rel, (now_ms + 60_000) // 1000) == 5
    client.activated()
    assert client.file_version == NEW and _state(client) is ClientState.IDLE


def test_reboot_resumes_from_stored_offset() -> None:
    info, sha = _image(2000)
    server = OtaServer(info, min_block_period_ms=0)
    client = _client(sha)
    q = client.on_image_notify(server.image_notify())
    assert q is not None
    req = client.on_query_response(server.handle_query("dev", q))
    _, now_ms, blocks, _ = _drive(server, client, req, 0, stop_after=10)
    assert client.offset == 640 == offset_after(0, info.size, 64, 10 * 0.01, 0.01)
    resume = client.reboot()
    assert resume is not None and resume.file_offset == 640
    end, _, more, _ = _drive(server, client, resume, now_ms + 60_000)
    assert isinstance(end, UpgradeEndRequest) and end.status == OtaStatus.SUCCESS
    assert blocks + more == blocks_between(0, info.size, 64)  # nothing sent twice


def test_corrupted_block_fails_the_hash_check() -> None:
    info, sha = _image()
    server = OtaServer(info)
    client = _client(sha)
    q = client.on_image_notify(server.image_notify())
    assert q is not None
    req = client.on_query_response(server.handle_query("dev", q))
    out: object = req
    n = 0
    while isinstance(out, ImageBlockRequest):
        rsp = server.handle_block("dev", out, n * 10)
        if n == 3:  # flip a bit in flight
            rsp = type(rsp)(
                rsp.status,
                rsp.manufacturer_code,
                rsp.image_type,
                rsp.file_version,
                rsp.file_offset,
                bytes([rsp.data[0] ^ 1]) + rsp.data[1:],
            )
        out = client.on_block_response(rsp, n * 10)
        n += 1
    assert isinstance(out, UpgradeEndRequest) and out.status == OtaStatus.INVALID_IMAGE
    assert client.state is ClientState.IDLE and client.offset == 0
    assert server.handle_upgrade_end("dev", out, 0) is None


def test_query_refused_for_hardware_outside_range_or_same_version() -> None:
    info, sha = _image()
    server = OtaServer(info)
    for client in (_client(sha, hw=3),):
        q = client.on_image_notify(server.image_notify())
        assert q is not None
        assert server.handle_query("dev", q).status == OtaStatus.NO_IMAGE_AVAILABLE
    same = OtaClient(manufacturer_code=MFR, image_type=TYPE, file_version=NEW, hardware_version=1)
    q = same.on_image_notify(server.image_notify())
    assert q is not None
    assert server.handle_query("dev", q).status == OtaStatus.NO_IMAGE_AVAILABLE
    other = OtaClient(
        manufacturer_code=MFR, image_type=TYPE + 1, file_version=OLD, hardware_version=1
    )
    assert other.on_image_notify(server.image_notify()) is None


def test_wait_for_data_until_image_available() -> None:
    info, sha = _image()
    server = OtaServer(info, available=False)
    client = _client(sha)
    q = client.on_image_notify(server.image_notify())
    assert q is not None
    req = client.on_query_response(server.handle_query("dev", q))
    assert req is not None
    rsp = server.handle_block("dev", req, 5_000)
    assert rsp.status == OtaStatus.WAIT_FOR_DATA and rsp.request_time > 5_000
    again = client.on_block_response(rsp, 5_000)
    assert isinstance(again, RetryAt) and again.request.file_offset == 0
    server.available = True
    assert server.handle_block("dev", again.request, again.at_ms).status == OtaStatus.SUCCESS


def test_state_errors_are_typed() -> None:
    info, sha = _image()
    client = _client(sha)
    server = OtaServer(info)
    with pytest.raises(OtaClusterError, match="state idle"):
        client.on_block_response(
            server.handle_block("x", ImageBlockRequest(MFR, TYPE, NEW, 0, 64), 0), 0
        )
    with pytest.raises(OtaClusterError, match="no finished download"):
        server.release("x", 0)
    bad = server.handle_block("x", ImageBlockRequest(MFR, TYPE, NEW, info.size + 5, 64), 0)
    assert bad.status == OtaStatus.MALFORMED_COMMAND
    with pytest.raises(OtaClusterError, match="block size"):
        blocks_between(0, 10, 0)
    with pytest.raises(OtaClusterError, match="does not serve"):
        server.handle_upgrade_end("x", UpgradeEndRequest(OtaStatus.SUCCESS, MFR, TYPE, OLD), 0)
