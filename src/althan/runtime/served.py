"""A live DCC, as `althan serve` runs it: the DSP, its network on a sped-up clock, its inventory.

`ServedDcc.open` puts together what DESIGN §2 step 0 describes: on a fresh store, the test
inventory (`althan.runtime.inventory`); the DSP and the CSPs, Comms Hubs and homes on one
`ScaledClock`; the outbox dispatcher that carries the DSP's messages to users' endpoints and to
the network; the SMKI repository of the ZAZ1 organisations and the fleet's devices. On a store
that served before, the clock starts where the store left off and the network is rebuilt from
the SMI: what was in flight when the process stopped ends through the deliveries' deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from althan.runtime.inventory import (
    FleetSpec,
    ServedFleet,
    installed_state,
    seed_store,
    served_fleet,
)
from althan.runtime.keys import FleetCertificates
from althan.runtime.live import LiveNetwork, ScaledClock, Task
from althan.runtime.service import create_app
from althan.runtime.smki_http import create_smki_app
from althan.smki.boxed_keystore import load_boxed_keystore
from althan.smki.repository import SmkiRepository
from althan.smwan.addresses import csp_address
from althan.smwan.codec import decode as decode_smwan

__all__ = ["ServeOptions", "ServedDcc"]


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


@dataclass
class ServedDcc:
    assembly: Assembly
    clock: ScaledClock
    fleet: ServedFleet
    live: LiveNetwork
    network: Network | None
    dispatcher: OutboxDispatcher
    smki: SmkiRepository
    fresh: bool
    """The store was new: the inventory was seeded."""

    @classmethod
    def open(cls, options: ServeOptions) -> ServedDcc:
        stored = FleetSpec.load(options.data_dir)
        spec = stored or FleetSpec(options.fleet, options.seed)
        a = build_dsp(
            options.data_dir,
            db_url=options.db_url,
            seed=spec.seed,
            schema_dirs=options.schema_dirs,
            settings=DspSettings(
                delivery_timeout=options.delivery_timeout,
                command_timeout=options.command_timeout,
            ),
        )
        dsp = a.dsp
        now = datetime.now(UTC)
        latest = dsp.latest_time()
        clock = ScaledClock(max(now, latest) if latest else now, options.speed)
        register_test_users(a, clock())
        served = served_fleet(spec)
        with dsp.engine.begin() as conn:
            fresh = stored is None and not smi.known(conn, [served.template_home.chf])
            if fresh:
                seed_store(conn, dsp.images, served, clock())
            installed = installed_state(conn, served)
        spec.save(options.data_dir)
        dispatcher = OutboxDispatcher(dsp, time_scale=options.speed)
        live = LiveNetwork(dsp, clock, on_dsp_output=dispatcher.wake.set)
        network = None
        if options.network:
            network = build_network(served.fleet, NetworkConfig(), a.keys, live.sim, installed)

            def to_csp(item: OutboxItem) -> bool:
                live.post(
                    csp_address(item.region), decode_smwan(item.payload, image=dsp.images.get)
                )
                return True

            dispatcher.smwan_sink = to_csp
        smki = SmkiRepository(
            devices=FleetCertificates(
                a.keys.pki, [d.eui for h in served.fleet.homes for d in h.devices()]
            )
        )
        for k in load_boxed_keystore(keystore_json()):
            smki.add_organisation(k.cert)
        return cls(a, clock, served, live, network, dispatcher, smki, fresh)

    def app(self, *, routes: Sequence[BaseRoute] = (), tasks: Sequence[Task] = ()) -> Starlette:
        """The DUIS web interface (and `routes` beside it), with the dispatcher and the network
        running for its lifetime and `tasks` done as DCC time passes."""
        self.live.add_tasks(tasks)
        return create_app(
            self.assembly,
            clock=self.clock,
            dispatcher=self.dispatcher,
            network=self.live,
            routes=routes,
        )

    def smki_app(self) -> Starlette:
        return create_smki_app(self.smki)
