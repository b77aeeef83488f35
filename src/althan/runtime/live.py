"""The simulated network on a real clock, sped up: what `althan serve` runs beside the gateway.

The same sans-IO components as the sim runtime (the CSP regions with their Comms Hubs and
homes) sit in a `Simulator`; one thread runs each of its events when DCC time reaches it. DCC
time (`ScaledClock`) starts at the real time (or where the store left off, so that it never
runs backwards across a restart) and runs `speed` times faster. The DUIS gateway reads the same
clock, so one firmware update takes the same DCC time whether a client or the demo drives it.

What the network sends to the DSP is handed to `Dsp.handle_smwan` in this thread, one
transaction per message; what the DSP sends to the network arrives through `post` (the outbox
dispatcher calls it from its own thread). Nothing of the network runs inside an HTTP request.

Other processes on the same data directory (the CLI's DSP actions: `ad release`, `cpl add`,
`report --publish` …) act at DCC time too: serve keeps `dcc-clock.json` in the data directory
fresh (`publish_clock`, each housekeeping round) and `dcc_now` reads it.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from althan.dsp.service import Dsp
from althan.runtime.background import BackgroundThread
from althan.runtime.sim import Faults, Simulator
from althan.smwan import Effect, SmwanMessage
from althan.smwan.addresses import DSP_ADDRESS

log = logging.getLogger("althan.live")

Task = Callable[[datetime], object]
"""Housekeeping the DSP does as DCC time passes, given that time."""

CLOCK_FILE = "dcc-clock.json"
CLOCK_FRESH = 30.0
"""A clock file older than this (real seconds) is a serve that has stopped: not believed."""


def publish_clock(data_dir: Path, now: datetime, speed: float) -> None:
    """Write the DCC time `now` (running `speed` times the real time) for other processes on
    `data_dir`; atomically, so that a reader sees the old file or the new one."""
    path = data_dir / CLOCK_FILE
    tmp = path.with_name(f".{CLOCK_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({"dcc": now.isoformat(), "wall": time.time(), "speed": speed}))
    os.replace(tmp, path)


def dcc_now(data_dir: Path) -> datetime | None:
    """The DCC time of the serve running on `data_dir`, from its clock file (None: no serve
    is running there, as far as the file says)."""
    try:
        d = json.loads((data_dir / CLOCK_FILE).read_text())
        dcc = datetime.fromisoformat(d["dcc"])
        written, speed = float(d["wall"]), float(d["speed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    elapsed = time.time() - written
    if dcc.tzinfo is None or not 0 <= elapsed <= CLOCK_FRESH:
        return None
    return dcc + timedelta(seconds=elapsed * speed)


class ScaledClock:
    """DCC time: `start`, then `speed` DCC seconds per real second."""

    def __init__(
        self,
        start: datetime,
        speed: float,
        real: Callable[[], float] = time.monotonic,
        real0: float | None = None,
    ) -> None:
        """`start` is the DCC time when `real` reads `real0` (default: now). Processes that
        must agree on DCC time (`althan serve --workers N`) share `start` and `real0` on the
        wall clock (``real=time.time``)."""
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.start = start
        self.speed = speed
        self._real = real
        self._real0 = real() if real0 is None else real0

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(self._real() - self._real0) * self.speed)

    def seconds(self) -> float:
        """DCC time as POSIX seconds (what the network components are handed)."""
        return self().timestamp()

    def real_delay(self, dcc_seconds: float) -> float:
        """How long, in real seconds, `dcc_seconds` of DCC time take."""
        return max(0.0, dcc_seconds / self.speed)


class _DspEndpoint:
    """The DSP as the network sees it: SM WAN messages in, one transaction each."""

    address = DSP_ADDRESS

    def __init__(self, dsp: Dsp, on_handled: Callable[[], None]) -> None:
        self.dsp = dsp
        self.on_handled = on_handled
        self.handled = 0

    def on_message(self, msg: object, now: float) -> Sequence[Effect]:
        if not isinstance(msg, SmwanMessage):
            raise TypeError(f"the DSP cannot take {type(msg).__name__} from the network")
        self.dsp.handle_smwan(msg, datetime.fromtimestamp(now, UTC))
        self.handled += 1
        self.on_handled()
        return []

    def on_timer(self, token: object, now: float) -> Sequence[Effect]:
        return []


class LiveNetwork:
    """A `Simulator` whose events run when DCC time reaches them, in one thread."""

    def __init__(
        self,
        dsp: Dsp,
        clock: ScaledClock,
        *,
        faults: Faults | None = None,
        on_dsp_output: Callable[[], None] = lambda: None,
        tasks: Sequence[Task] = (),
        every: float = 1.0,
    ) -> None:
        """`tasks` run every `every` real seconds with the DCC time (the DSP's housekeeping:
        delivery deadlines, quarantine expiry, scheduled reports); one that returns something
        true has sent something, and `on_dsp_output` is called."""
        self.dsp = dsp
        self.clock = clock
        self.sim = Simulator(start=clock.seconds(), faults=faults)
        self.sim.add(_DspEndpoint(dsp, on_dsp_output))
        self._on_dsp_output = on_dsp_output
        self._inbox: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._background = BackgroundThread("althan-network")
        self._tasks = [dsp.expire, *tasks]
        self._every = every
        self._next_tasks = 0.0
        self.errors = 0

    def add_tasks(self, tasks: Sequence[Task]) -> None:
        """More housekeeping (before `start`)."""
        self._tasks.extend(tasks)

    # -- from other threads
    def post(self, address: str, msg: object) -> None:
        """Deliver `msg` to the component at `address` now (thread-safe)."""
        self._inbox.put((address, msg))
        self._background.wake.set()

    # -- the network thread
    def step(self) -> float:
        """Run everything due; the real seconds until something is due next."""
        now = self.clock.seconds()
        while True:
            try:
                address, msg = self._inbox.get_nowait()
            except queue.Empty:
                break
            self.sim.post(address, msg, at=max(now, self.sim.now))
        self.sim.run(until=now)
        if time.monotonic() >= self._next_tasks:
            self._next_tasks = time.monotonic() + self._every
            for task in self._tasks:
                if task(self.clock()):
                    self._on_dsp_output()
        nxt = self.sim.next_time()
        wait = self._every if nxt is None else self.clock.real_delay(nxt - now)
        return min(wait, self._every)

    def run_forever(self) -> None:
        while not self._background.stopping.is_set():
            try:
                wait = self.step()
            except Exception:  # a component or the store failed: log, carry on
                self.errors += 1
                log.exception("network step failed")
                wait = 1.0
            self._background.pause(wait)

    def start(self) -> None:
        self._background.start(self.run_forever)

    def stop(self, timeout: float = 5.0) -> None:
        self._background.stop(timeout)
