"""A live DCC, as `althan serve` runs it: the DSP, its network on a sped-up clock, its inventory.

`ServedDcc.open` puts together what DESIGN §2 step 0 describes: on a fresh store, the test
inventory (`althan.runtime.inventory`); the DSP and the CSPs, Comms Hubs and homes on one
`ScaledClock`; the outbox dispatcher that carries the DSP's messages to users' endpoints and to
the network; the SMKI repository of the ZAZ1 organisations and the fleet's devices. On a store
that served before, the clock starts where the store left off and the network is rebuilt from
the SMI: what was in flight when the process stopped ends through the deliveries' deadlines.

Every process serving the store (``--workers N``, or several `althan serve` on one PostgreSQL
store) answers DUIS and delivers users' messages; the network and the DSP's housekeeping run in
the one that holds the network lease (`althan.runtime.leader`), and move to another when it
dies. `prepare_store` readies the store once, before the workers start; each worker then
`open`s it on the DCC clock the parent fixed, so that all of them agree on DCC time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from althan.csp.network import Network, build_network
from althan.dsp import smi
from althan.dsp.context import DspSettings
from althan.dsp.outbox import OutboxItem
from althan.duis.peers import keystore_json
from althan.han.config import NetworkConfig
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.runtime.dispatcher import OutboxDispatcher
from althan.runtime.fast_path import FastPath
from althan.runtime.inventory import (
    FleetSpec,
    ServedFleet,
    installed_state,
    seed_store,
    served_fleet,
)
from althan.runtime.keys import FleetCertificates
from althan.runtime.leader import Lease, network_lease
from althan.runtime.live import LiveNetwork, ScaledClock, Task
from althan.runtime.service import create_app
from althan.runtime.smki_http import create_smki_app
from althan.smki.boxed_keystore import load_boxed_keystore
from althan.smki.repository import SmkiRepository
from althan.smwan.addresses import csp_address
from althan.smwan.codec import decode as decode_smwan

__all__ = [
    "ClockOrigin",
    "NetworkRole",
    "PreparedStore",
    "ServeOptions",
    "ServedDcc",
    "prepare_store",
]

log = logging.getLogger("althan.serve")


@dataclass(frozen=True)
class ServeOptions:
    data_dir: Path
    db_url: str | None = None
    schema_dirs: Sequence[Path | None] = (None,)
    speed: float = 60.0
    """DCC seconds per real second."""
    fleet: int = 20
    """Generated Alt HAN homes (on a fresh store; a store keeps the fleet it was made with)."""
    seed: int = 1
    network: bool = True
    delivery_timeout: timedelta = timedelta(days=3)
    command_timeout: timedelta = timedelta(hours=24)
    lease_retry: float = 2.0
    """Real seconds between a waiting process's attempts to take the network lease."""


@dataclass(frozen=True)
class ClockOrigin:
    """DCC time `dcc` at the wall-clock instant `wall` (POSIX seconds): one DCC clock for every
    process of one serve."""

    dcc: datetime
    wall: float

    def clock(self, speed: float) -> ScaledClock:
        return ScaledClock(self.dcc, speed, real=time.time, real0=self.wall)


@dataclass(frozen=True)
class PreparedStore:
    origin: ClockOrigin
    fresh: bool
    """The store was new: the inventory was seeded."""


def _assemble(options: ServeOptions, seed: int) -> Assembly:
    return build_dsp(
        options.data_dir,
        db_url=options.db_url,
        seed=seed,
        schema_dirs=options.schema_dirs,
        settings=DspSettings(
            delivery_timeout=options.delivery_timeout,
            command_timeout=options.command_timeout,
        ),
    )


def _spec(options: ServeOptions) -> FleetSpec:
    return FleetSpec.load(options.data_dir) or FleetSpec(options.fleet, options.seed)


def prepare_store(options: ServeOptions) -> PreparedStore:
    """Ready the store for serving (once, before any worker opens it): migrated, the test users
    registered, on a new store the test inventory seeded; and the DCC clock fixed, starting at
    the real time or where the store left off, whichever is later."""
    stored = FleetSpec.load(options.data_dir)
    spec = stored or FleetSpec(options.fleet, options.seed)
    a = _assemble(options, spec.seed)
    dsp = a.dsp
    wall = time.time()
    now = datetime.fromtimestamp(wall, UTC)
    latest = dsp.latest_time()
    origin = ClockOrigin(max(now, latest) if latest else now, wall)
    clock = origin.clock(options.speed)
    register_test_users(a, clock())
    served = served_fleet(spec)
    with dsp.engine.begin() as conn:
        fresh = stored is None and not smi.known(conn, [served.template_home.chf])
        if fresh:
            seed_store(conn, dsp.images, served, clock())
    spec.save(options.data_dir)
    dsp.engine.dispose()
    return PreparedStore(origin, fresh)


@dataclass
class NetworkRole:
    """This process's part in running the network: it waits for the network lease, and while it
    holds it runs the CSPs, Comms Hubs and homes (unless ``--no-network``) and the DSP's
    housekeeping, on the DCC clock; the outbox dispatcher then also carries SM WAN rows."""

    assembly: Assembly
    clock: ScaledClock
    fleet: ServedFleet
    dispatcher: OutboxDispatcher
    lease: Lease
    network_on: bool
    retry: float
    tasks: list[Task] = field(default_factory=list)
    live: LiveNetwork | None = None
    network: Network | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self.live is not None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            if not self._try_lead():
                self._thread = threading.Thread(
                    target=self._wait_for_lease, name="althan-lease", daemon=True
                )
                self._thread.start()

    def _wait_for_lease(self) -> None:
        while not self._stop.wait(self.retry):
            try:
                if self._try_lead():
                    return
            except Exception:  # the store is away for a moment: try again later
                log.exception("network lease: attempt failed")

    def _try_lead(self) -> bool:
        if not self.lease.try_acquire():
            return False
        dsp = self.assembly.dsp
        live = LiveNetwork(
            dsp, self.clock, on_dsp_output=self.dispatcher.wake.set, tasks=self.tasks
        )
        if self.network_on:
            with dsp.engine.connect() as conn:
                installed = installed_state(conn, self.fleet)
            # message IDs from the wall clock in µs: a network rebuilt later (a restart, or
            # another process taking the lease) never reuses an ID the DSP's inbox has seen
            self.network = build_network(
                self.fleet.fleet,
                NetworkConfig(),
                self.assembly.keys,
                live.sim,
                installed,
                first_msg=time.time_ns() // 1000,
            )

            def to_csp(item: OutboxItem) -> bool:
                live.post(
                    csp_address(item.region), decode_smwan(item.payload, image=dsp.images.get)
                )
                return True

            self.dispatcher.smwan_sink = to_csp
        self.live = live
        live.start()
        log.info("this process holds the network lease: it runs the network and housekeeping")
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self.live is not None:
            self.live.stop()
            self.dispatcher.smwan_sink = None
            self.live = None
        self.lease.release()


@dataclass
class ServedDcc:
    assembly: Assembly
    clock: ScaledClock
    fleet: ServedFleet
    dispatcher: OutboxDispatcher
    smki: SmkiRepository
    role: NetworkRole
    fresh: bool
    """The store was new: the inventory was seeded."""

    @classmethod
    def open(cls, options: ServeOptions, prepared: PreparedStore | None = None) -> ServedDcc:
        """The served DCC on a store `prepare_store` readied (by default, readied here)."""
        if prepared is None:
            prepared = prepare_store(options)
        spec = _spec(options)
        a = _assemble(options, spec.seed)
        clock = prepared.origin.clock(options.speed)
        served = served_fleet(spec)
        dispatcher = OutboxDispatcher(a.dsp, time_scale=options.speed)
        smki = SmkiRepository(
            devices=FleetCertificates(
                a.keys.pki, [d.eui for h in served.fleet.homes for d in h.devices()]
            )
        )
        for k in load_boxed_keystore(keystore_json()):
            smki.add_organisation(k.cert)
        role = NetworkRole(
            a,
            clock,
            served,
            dispatcher,
            network_lease(a.dsp.engine, options.data_dir),
            options.network,
            options.lease_retry,
        )
        return cls(a, clock, served, dispatcher, smki, role, prepared.fresh)

    @property
    def network(self) -> Network | None:
        """The simulated network, while this process runs it."""
        return self.role.network

    def app(self, *, routes: Sequence[BaseRoute] = (), tasks: Sequence[Task] = ()) -> FastPath:
        """The DUIS web interface (and `routes` beside it), with the dispatcher running for its
        lifetime, and the network with `tasks` done as DCC time passes while this process
        holds the network lease."""
        self.role.tasks.extend(tasks)
        return create_app(
            self.assembly,
            clock=self.clock,
            dispatcher=self.dispatcher,
            network=self.role,
            routes=routes,
        )

    def smki_app(self) -> Starlette:
        return create_smki_app(self.smki)
