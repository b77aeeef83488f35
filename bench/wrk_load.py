"""The DUIS gateway's load from `wrk` (Debian's wrk 4), one in-order stream of presigned requests
per user.

DUIS counters must strictly increase per user, so every wrk thread holds one connection and one
user's requests, in order, read from its own file (records separated by NUL, which XML cannot
contain). A thread that runs out of requests stops; the report says so, because the request
rate is then under-counted. With ``rate`` set, each connection waits ``slots / rate`` seconds
between requests (wrk's ``delay()``): a closed loop at that offered rate, for latency below
saturation. wrk itself is C: its cost on the server's cores is small, and it is reported (its
CPU time from /proc) next to the server's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

WRK = "wrk"
_MARK = "ALTHAN-WRK "

LUA = r"""
local slots = {}
local counter = 0
local files_dir = "%(dir)s"
local delay_ms = %(delay_ms)s

function setup(thread)
  thread:set("slot", counter)
  counter = counter + 1
  table.insert(slots, thread)
end

local reqs = {}
local i = 0
local codes = {}

function init(args)
  local f = assert(io.open(files_dir .. "/slot-" .. wrk.thread:get("slot") .. ".bin", "rb"))
  local data = f:read("*a")
  f:close()
  for rec in string.gmatch(data, "([^%%z]+)") do
    local service, body = string.match(rec, "^(%%a)\n(.*)$")
    table.insert(reqs, wrk.format("POST", "/api/v1/service" .. service,
      {["Content-Type"] = "application/xml"}, body))
  end
end

function request()
  i = i + 1
  if i > #reqs then
    wrk.thread:set("exhausted", 1)
    wrk.thread:stop()
    i = #reqs
  end
  return reqs[i]
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function response(status, headers, body)
  local code = headers["X-DUIS-Response-Code"] or headers["x-duis-response-code"] or "-"
  local key = status .. "/" .. code
  codes[key] = (codes[key] or 0) + 1
  wrk.thread:set("codes", codes)
end

function done(summary, latency, requests)
  local merged = {}
  local ran_out = 0
  for _, t in ipairs(slots) do
    local c = t:get("codes") or {}
    for k, v in pairs(c) do merged[k] = (merged[k] or 0) + v end
    ran_out = ran_out + (t:get("exhausted") or 0)
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%%s": %%d', k, v)) end
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, ' ..
    '"p90_us": %%d, "p99_us": %%d, "max_us": %%d, "exhausted": %%d, "codes": {%%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    ran_out, table.concat(parts, ", ")))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    wall: float
    rps: float
    p50: float  # ms, from wrk's latency histogram
    p90: float
    p99: float
    max: float
    errors: int
    exhausted: int  # threads that ran out of presigned requests
    codes: dict[str, int]
    load_cpu: float  # seconds of CPU wrk spent


def write_streams(directory: Path, per_slot: list[list[tuple[str, bytes]]]) -> None:
    """One file per slot: ``service \\n xml`` records separated by NUL."""
    directory.mkdir(parents=True, exist_ok=True)
    for s, reqs in enumerate(per_slot):
        for _, xml in reqs:
            if b"\0" in xml:
                raise ValueError("a request holds a NUL byte")
        data = b"\0".join(svc.encode() + b"\n" + xml for svc, xml in reqs)
        (directory / f"slot-{s}.bin").write_bytes(data)


def run_wrk(
    url: str,
    streams: Path,
    slots: int,
    duration: float,
    *,
    rate: float | None = None,
    timeout_s: int = 10,
) -> WrkResult:
    """wrk with one thread and one connection per slot for `duration` seconds; `rate` (requests
    per second over all slots) paces each connection."""
    delay_ms = 0 if not rate else max(1, round(1e3 * slots / rate))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % {"dir": str(streams), "delay_ms": delay_ms, "mark": _MARK})
        script = f.name
    try:
        cmd = [
            WRK,
            "-t",
            str(slots),
            "-c",
            str(slots),
            "-d",
            f"{max(1, round(duration))}s",
            "--timeout",
            f"{timeout_s}s",
            "-s",
            script,
            url,
        ]
        t0 = os.times()
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        t1 = os.times()
    finally:
        os.unlink(script)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    d = json.loads(line[len(_MARK) :])
    wall = d["duration_us"] / 1e6
    return WrkResult(
        requests=d["requests"],
        wall=wall,
        rps=d["requests"] / wall if wall else 0.0,
        p50=d["p50_us"] / 1e3,
        p90=d["p90_us"] / 1e3,
        p99=d["p99_us"] / 1e3,
        max=d["max_us"] / 1e3,
        errors=d["errors"],
        exhausted=d["exhausted"],
        codes=d["codes"],
        load_cpu=(t1.children_user - t0.children_user) + (t1.children_system - t0.children_system),
    )


def wrk_version() -> str:
    out = subprocess.run([WRK, "-v"], capture_output=True, text=True)
    m = re.search(r"wrk (?:debian/)?([0-9.]+)", out.stdout + out.stderr)
    return m.group(1) if m else "?"
