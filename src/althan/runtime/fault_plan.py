"""The fault plan: what goes wrong in a sim run, as data (its injector is
:mod:`althan.runtime.faults`).

Two kinds of entries:

* named faults, for tests that want one thing to happen to one device at one time
  (`device_reboots`, `corrupt_devices`, `outages`, `link_loss`);
* rates, which the injector draws from the plan's seed as the run goes, so that one plan fits
  any fleet: per-link loss / duplication / reordering / delay spikes (`links`), CSP outage
  windows, Comms Hubs offline for a window, device reboots mid-download, corrupted blocks, WAN
  transfer failures, DSP crashes. Their times are drawn within `window_s` of the moment the
  first image reaches a CSP, so they land mid-rollout.

The named plans of `althan simulate --faults` are in :data:`NAMED_PLANS`; the JSON form
(:meth:`FaultPlan.from_json`) is documented in ``docs/network.md``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from althan.model import EUI64, Region

__all__ = [
    "NAMED_PLANS",
    "DeviceReboot",
    "FaultPlan",
    "FaultPlanError",
    "LinkFault",
    "LinkLoss",
    "Outage",
    "load_plan",
]


class FaultPlanError(ValueError):
    """A fault plan that does not hold together (unknown key, bad value, unknown device)."""


@dataclass(frozen=True, slots=True)
class DeviceReboot:
    """`device` power-cycles at simulator time `at`."""

    device: EUI64
    at: float  # simulator time (the clock the Simulator started at)


@dataclass(frozen=True, slots=True)
class Outage:
    """`region`'s WAN is down from `start` to `end` (simulator time)."""

    region: Region
    start: float  # simulator time
    end: float  # simulator time, >= start


@dataclass(frozen=True, slots=True)
class LinkLoss:
    """Messages from an address starting `sender` to one starting `receiver` are lost with
    `probability`, for good (``""`` matches any address)."""

    sender: str  # address prefix, e.g. "csp:"
    receiver: str  # address prefix, e.g. "dsp"
    probability: float  # per message


@dataclass(frozen=True, slots=True)
class LinkFault:
    """What the link from an address starting `sender` to one starting `receiver` does to each
    message. Links are at-least-once transports (the SM WAN and the HTTPS POSTs to users retry
    until acknowledged): a lost attempt is sent again `FaultPlan.retry_s` later (and may be
    lost again); a duplicate is a second copy (an acknowledgement lost after delivery)."""

    sender: str  # address prefix: "dsp", "csp:", "ch:", "device:", "user:" ("" = any)
    receiver: str  # address prefix
    loss: float = 0.0  # per attempt
    duplicate: float = 0.0  # per message: a second copy follows
    reorder_s: float = 0.0  # each copy waits uniform(0, reorder_s) more: later ones overtake
    spike: float = 0.0  # per copy: probability of a delay spike
    spike_s: float = 0.0  # the spike's extra delay

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_PROBABILITIES = (
    "block_corruption",
    "wan_transfer_failure",
    "ch_offline",
    "reboot_during_download",
)
_NON_NEGATIVE = ("window_s", "retry_s", "region_outage_max_s", "ch_offline_max_s", "dsp_down_s")


@dataclass(frozen=True)
class FaultPlan:
    """What goes wrong in a run, seeded: the same plan and seed give the same run."""

    seed: int = 0
    # -- named faults
    device_reboots: tuple[DeviceReboot, ...] = ()
    corrupt_devices: frozenset[EUI64] = frozenset()  # each one's next download: one bad block
    outages: tuple[Outage, ...] = ()
    link_loss: tuple[LinkLoss, ...] = ()
    # -- rates, drawn from the seed
    block_corruption: float = 0.0  # probability that one CH → device block arrives corrupted
    wan_transfer_failure: float = 0.0  # probability that one CSP → CH image transfer fails
    links: tuple[LinkFault, ...] = ()
    retry_s: float = 30.0  # a link's transport sends a lost attempt again after this
    window_s: float = 3600.0  # drawn fault times: within this of the first image at a CSP
    region_outages: int = 0  # CSP WAN outage windows per region
    region_outage_max_s: float = 1800.0
    ch_offline: float = 0.0  # probability that a CH an image goes to is offline for a window
    ch_offline_max_s: float = 3600.0
    reboot_during_download: float = 0.0  # per target device: one power cycle in the window
    dsp_crashes: int = 0  # the DSP is killed (kill -9) and restarted from its store
    dsp_down_s: float = 60.0  # how long each crash keeps it down

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            _probability(name, getattr(self, name))
        for name in _NON_NEGATIVE:
            if not getattr(self, name) >= 0:
                raise FaultPlanError(f"{name} must be >= 0, got {getattr(self, name)}")
        for n in ("region_outages", "dsp_crashes"):
            if getattr(self, n) < 0:
                raise FaultPlanError(f"{n} must be >= 0, got {getattr(self, n)}")
        if any(r.loss > 0 for r in self.links) and self.retry_s <= 0:
            raise FaultPlanError("retry_s must be > 0 when a link loses messages")
        for rule in self.link_loss:
            if not 0.0 <= rule.probability <= 1.0:
                raise FaultPlanError(f"link loss must be a probability, got {rule.probability}")
        for lf in self.links:
            for name in ("loss", "duplicate", "spike"):
                _probability(f"links.{name}", getattr(lf, name))
            if lf.loss >= 1.0:
                raise FaultPlanError("links.loss must be below 1 (a link that loses everything)")
            if not (lf.reorder_s >= 0 and lf.spike_s >= 0):
                raise FaultPlanError("links.reorder_s and links.spike_s must be >= 0")
        for o in self.outages:
            if o.end < o.start:
                raise FaultPlanError(f"outage of {o.region.value} ends before it starts")

    @property
    def draws_at_rollout(self) -> bool:
        """Faults whose times are drawn when the first image reaches a CSP."""
        return any(
            (self.region_outages, self.ch_offline, self.reboot_during_download, self.dsp_crashes)
        )

    # ------------------------------------------------------------------ JSON form

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "device_reboots": [{"device": str(r.device), "at": r.at} for r in self.device_reboots],
            "corrupt_devices": sorted(str(e) for e in self.corrupt_devices),
            "block_corruption": self.block_corruption,
            "wan_transfer_failure": self.wan_transfer_failure,
            "outages": [
                {"region": o.region.value, "start": o.start, "end": o.end} for o in self.outages
            ],
            "link_loss": [
                {"sender": r.sender, "receiver": r.receiver, "probability": r.probability}
                for r in self.link_loss
            ],
            "links": [lf.to_json() for lf in self.links],
            "retry_s": self.retry_s,
            "window_s": self.window_s,
            "region_outages": self.region_outages,
            "region_outage_max_s": self.region_outage_max_s,
            "ch_offline": self.ch_offline,
            "ch_offline_max_s": self.ch_offline_max_s,
            "reboot_during_download": self.reboot_during_download,
            "dsp_crashes": self.dsp_crashes,
            "dsp_down_s": self.dsp_down_s,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | str) -> FaultPlan:
        """The plan from its JSON form (an object, or its text); every key is optional."""
        try:
            data: Mapping[str, Any] = json.loads(obj) if isinstance(obj, str) else obj
        except json.JSONDecodeError as e:
            raise FaultPlanError(f"not a fault plan: {e}") from e
        if not isinstance(data, Mapping):
            raise FaultPlanError("not a fault plan: a JSON object is expected")
        unknown = set(data) - set(cls().to_json())
        if unknown:
            raise FaultPlanError(f"unknown fault plan keys: {', '.join(sorted(unknown))}")
        link_keys = set(LinkFault("", "").to_json())
        try:
            for lf in data.get("links", ()):
                bad = set(lf) - link_keys
                if bad:
                    raise FaultPlanError(f"unknown link fault keys: {', '.join(sorted(bad))}")
            scalars = {
                k: type(getattr(cls, k))(data[k])
                for k in (*_PROBABILITIES, *_NON_NEGATIVE, "region_outages", "dsp_crashes")
                if k in data
            }
            return cls(
                seed=int(data.get("seed", 0)),
                device_reboots=tuple(
                    DeviceReboot(EUI64.parse(r["device"]), float(r["at"]))
                    for r in data.get("device_reboots", ())
                ),
                corrupt_devices=frozenset(EUI64.parse(e) for e in data.get("corrupt_devices", ())),
                outages=tuple(
                    Outage(Region(o["region"]), float(o["start"]), float(o["end"]))
                    for o in data.get("outages", ())
                ),
                link_loss=tuple(
                    LinkLoss(str(r["sender"]), str(r["receiver"]), float(r["probability"]))
                    for r in data.get("link_loss", ())
                ),
                links=tuple(
                    LinkFault(
                        str(lf["sender"]),
                        str(lf["receiver"]),
                        **{k: float(v) for k, v in lf.items() if k not in ("sender", "receiver")},
                    )
                    for lf in data.get("links", ())
                ),
                **scalars,
            )
        except FaultPlanError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise FaultPlanError(f"not a fault plan: {e!r}") from e

    def with_seed(self, seed: int) -> FaultPlan:
        return dataclasses.replace(self, seed=seed)


def _probability(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise FaultPlanError(f"{name} must be a probability, got {p}")


_DSP_CSP = (LinkFault("dsp", "csp:", 0.02, 0.02, 20.0, 0.01, 600.0),)
_CSP_DSP = (LinkFault("csp:", "dsp", 0.02, 0.02, 20.0, 0.01, 600.0),)
_CSP_CH = (LinkFault("csp:", "ch:", 0.02, 0.01, 10.0, 0.01, 300.0),)
_CH_DEVICE = (LinkFault("ch:", "device:", 0.0, 0.02, 5.0, 0.02, 120.0),)
_DSP_USER = (LinkFault("dsp", "user:", 0.05, 0.05, 30.0, 0.01, 300.0),)


def _harsh(rule: LinkFault) -> LinkFault:
    return dataclasses.replace(
        rule,
        loss=min(0.2, rule.loss * 5),
        duplicate=min(0.2, rule.duplicate * 5),
        reorder_s=rule.reorder_s * 3,
        spike=min(0.1, rule.spike * 5),
    )


_ALL_LINKS = _DSP_CSP + _CSP_DSP + _CSP_CH + _CH_DEVICE + _DSP_USER

_RATES = (
    "block_corruption",
    "wan_transfer_failure",
    "region_outages",
    "region_outage_max_s",
    "ch_offline",
    "ch_offline_max_s",
    "reboot_during_download",
    "dsp_crashes",
    "dsp_down_s",
)


def _rated(links: tuple[LinkFault, ...], rates: tuple[float, ...]) -> FaultPlan:
    """A plan with these links and these values of :data:`_RATES`, in that order."""
    values: dict[str, Any] = dict(zip(_RATES, rates, strict=True))
    return FaultPlan(links=links, **values)


_HARSH_LINKS = tuple(_harsh(r) for r in _ALL_LINKS)

NAMED_PLANS: dict[str, FaultPlan] = {
    "none": FaultPlan(),
    # rates: block, WAN, region outages and max, CH offline and max, reboot, DSP crashes and down
    "default": _rated(_ALL_LINKS, (0.0005, 0.02, 1, 1800.0, 0.02, 3600.0, 0.02, 1, 60.0)),
    "harsh": _rated(_HARSH_LINKS, (0.002, 0.1, 3, 3600.0, 0.1, 7200.0, 0.1, 3, 300.0)),
    "links": FaultPlan(links=_HARSH_LINKS),
    "crash": FaultPlan(dsp_crashes=4, dsp_down_s=120.0, window_s=1800.0),
    "network": _rated((), (0.002, 0.1, 2, 1800.0, 0.1, 3600.0, 0.1, 0, 60.0)),
}
"""The plans `althan simulate --faults NAME` knows (each run sets the seed)."""


def load_plan(spec: str) -> FaultPlan:
    """A named plan (:data:`NAMED_PLANS`) or the path of a JSON plan file."""
    if spec in NAMED_PLANS:
        return NAMED_PLANS[spec]
    path = Path(spec)
    if not path.is_file():
        names = ", ".join(NAMED_PLANS)
        raise FaultPlanError(f"no fault plan {spec!r}: not one of {names}, nor a JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FaultPlanError(f"cannot read fault plan {spec}: {e}") from e
    return FaultPlan.from_json(text)
