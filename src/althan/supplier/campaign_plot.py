"""A campaign's outcomes over time, per wave: for each wave, how many of its devices had
activated and how many had failed, against the time since the campaign was created (each
device's outcome is the time its attempt reached `activated` or `failed`). SVG or PNG, by the
output's suffix; drawn without pyplot's global state (`matplotlib.figure.Figure`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sqlalchemy import select

from althan.supplier.campaign_plan import PlanError
from althan.supplier.campaign_store import CampaignStore
from althan.supplier.campaign_tables import ACTIVATED, FAILED, attempts

FORMATS = (".svg", ".png")
Series = dict[tuple[int, str], list[float]]


def outcome_times(store: CampaignStore, name: str) -> Series:
    """(wave, outcome) → the hours after the campaign's creation at which each device of that
    wave reached that outcome, in order."""
    row = store.campaign(name)
    if row is None:
        raise PlanError(f"no campaign named {name!r} in {store.path}")
    start = datetime.fromisoformat(row.created_at)
    a = attempts.c
    q = select(a.wave, a.state, a.updated_at).where(
        a.campaign == name, a.state.in_((ACTIVATED, FAILED))
    )
    out: Series = defaultdict(list)
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            hours = (datetime.fromisoformat(r.updated_at) - start).total_seconds() / 3600
            out[(r.wave, r.state)].append(max(hours, 0.0))
    return {k: sorted(v) for k, v in sorted(out.items())}


def plot(store: CampaignStore, name: str, path: Path) -> Series:
    """Draw `name`'s outcomes over time per wave into `path` (PlanError: an unknown campaign,
    no outcome yet, or a format other than SVG or PNG). Returns what was drawn."""
    if path.suffix.lower() not in FORMATS:
        raise PlanError(f"{path}: the plot is written as .svg or .png")
    series = outcome_times(store, name)
    if not series:
        raise PlanError(f"campaign {name!r} has no outcome yet: nothing to plot")
    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours: dict[int, str] = {}
    for (wave, state), hours in series.items():
        colour = colours.setdefault(wave, f"C{(wave - 1) % 10}")
        ax.step(
            [0.0, *hours],
            range(len(hours) + 1),
            where="post",
            color=colour,
            linestyle="-" if state == ACTIVATED else "--",
            label=f"wave {wave} {state}",
        )
    ax.set_xlabel("hours since the campaign was created")
    ax.set_ylabel("devices")
    ax.set_title(f"campaign {name}: outcomes per wave")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    try:
        fig.savefig(path, format=path.suffix.lower()[1:], metadata=_metadata(path))
    except OSError as exc:
        raise PlanError(f"{path}: {exc.strerror or exc}") from None
    return series


def _metadata(path: Path) -> dict[str, str | None]:
    # no creation date: the same campaign gives the same file
    return {"Date": None} if path.suffix.lower() == ".svg" else {"Software": "althan"}
