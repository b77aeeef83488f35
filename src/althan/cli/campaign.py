"""`althan campaign create|run|status|pause|resume|cancel|retry-failed`: a supplier's staged
firmware rollouts over DUIS (issue 15; althan.supplier.campaign).

Exit codes: 0 done (created, completed, cancelled, changed); 1 the campaign cannot go on (an
unreachable DCC, an answer not believed, an operation its state does not allow); 2 bad input;
3 `run` ended with the campaign paused (by its threshold, by its user, or because the DCC's
CPL does not know the image: the reason printed).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from althan.model import EUI64, TEST_SUPPLIER_EUI

app = typer.Typer(
    name="campaign",
    help="A supplier's staged firmware rollouts (11.4) over DUIS.",
    no_args_is_help=True,
)

Store = typer.Option(Path("campaigns"), "--store", help="The campaigns' own store (a folder).")
PAUSED_EXIT = 3


def _now() -> datetime:
    return datetime.now(UTC)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _store(folder: Path) -> Any:
    from althan.supplier.campaign_plan import PlanError
    from althan.supplier.campaign_store import CampaignStore

    try:
        return CampaignStore.open(folder)
    except PlanError as exc:
        _fail(str(exc), 2)


def _credentials(user: EUI64, key: str | None, cert: str | None) -> tuple[Any, Any]:
    """(private key, certificate): the given PEM files, or the ZAZ1 test ones of `user`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if (key is None) != (cert is None):
        _fail("--key and --cert go together", 2)
    if key is not None and cert is not None:
        try:
            private = serialization.load_pem_private_key(Path(key).read_bytes(), None)
            certificate = x509.load_pem_x509_certificate(Path(cert).read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            _fail(f"--key/--cert: {exc}", 2)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            _fail("--key: not an EC (P-256) private key", 2)
        return private, certificate
    from althan.duis.schema import SchemaError, find_tool_jar
    from althan.smki.zaz1 import Zaz1Error, load_zaz1

    try:
        found_cert, found_key = load_zaz1(find_tool_jar())[user]
    except (KeyError, SchemaError, Zaz1Error) as exc:
        _fail(f"no ZAZ1 key for {user} ({exc}): give --key and --cert", 2)
    return found_key, found_cert


def _trust(dcc_cert: str | None) -> Any:
    from cryptography import x509

    from althan.duis.schema import SchemaError, find_tool_jar
    from althan.duis.xmldsig import TrustStore
    from althan.model import DCC_EUI
    from althan.smki.zaz1 import Zaz1Error, load_zaz1

    if dcc_cert is not None:
        try:
            cert = x509.load_pem_x509_certificate(Path(dcc_cert).read_bytes())
        except (OSError, ValueError) as exc:
            _fail(f"--dcc-cert {dcc_cert}: not a readable PEM certificate ({exc})", 2)
    else:
        try:
            cert = load_zaz1(find_tool_jar())[DCC_EUI][0]
        except (KeyError, SchemaError, Zaz1Error) as exc:
            _fail(f"no ZAZ1 DCC certificate ({exc}): give --dcc-cert", 2)
    return TrustStore([(DCC_EUI, cert)])


@app.command("create")
def create_cmd(
    name: str = typer.Argument(..., help="The campaign's name."),
    dcc: str = typer.Option(..., "--dcc", help="The DCC's base URL (DUIS web services)."),
    image: Path = typer.Option(..., "--image", exists=True, dir_okay=False, help="OTA file."),
    devices: Path = typer.Option(
        ..., "--devices", exists=True, dir_okay=False, help="One EUI-64 a line."
    ),
    waves: str = typer.Option("1,10,50,100", "--waves", help="Cumulative percentages."),
    max_failure: float = typer.Option(2.0, "--max-failure", help="Pause above this % failed."),
    min_sample: int = typer.Option(20, "--min-sample", help="Outcomes before a wave is judged."),
    listen: str = typer.Option(
        "127.0.0.1:8181", "--listen", help="HOST:PORT of the response endpoint (/smartdcc/duis)."
    ),
    window: str | None = typer.Option(None, "--window", help="HH:MM-HH:MM (UTC) to send in."),
    user: str = typer.Option(str(TEST_SUPPLIER_EUI), "--as", help="The supplier's EUI-64."),
    key: Path | None = typer.Option(None, "--key", help="XML-signing key (PEM); default ZAZ1."),
    cert: Path | None = typer.Option(None, "--cert", help="Its certificate (PEM)."),
    dcc_cert: Path | None = typer.Option(
        None, "--dcc-cert", help="The DSP's certificate (PEM) to check what it signs; ZAZ1."
    ),
    intake: bool = typer.Option(
        False, "--intake/--no-intake", help="Submit the outcomes to AltHANCo's intake at the end."
    ),
    store: Path = Store,
) -> None:
    """Check and store a campaign's plan (nothing is sent: `campaign run` does)."""
    from althan.supplier import campaign
    from althan.supplier.campaign_listen import parse_listen
    from althan.supplier.campaign_plan import PlanError, parse_devices

    try:
        who = EUI64.parse(user)
        parse_listen(listen)
    except ValueError as exc:
        _fail(str(exc), 2)
    _credentials(who, None if key is None else str(key), None if cert is None else str(cert))
    if dcc_cert is not None:
        _trust(str(dcc_cert))
    s = _store(store)
    try:
        plan = campaign.create(
            s,
            name,
            dcc=dcc,
            image=image.read_bytes(),
            image_name=image.name,
            devices=parse_devices(devices.read_text(errors="replace"), str(devices)),
            waves=waves,
            max_failure=max_failure,
            min_sample=min_sample,
            listen=listen,
            user=who,
            window=window,
            key=None if key is None else str(key.resolve()),
            cert=None if cert is None else str(cert.resolve()),
            intake=intake,
            dcc_cert=None if dcc_cert is None else str(dcc_cert.resolve()),
            now=_now(),
        )
    except PlanError as exc:
        _fail(str(exc), 2)
    sizes = [w.size for w in s.waves(name)]
    typer.echo(
        f"campaign {name}: {plan['devices']} devices in {len(sizes)} waves "
        f"({', '.join(map(str, sizes))}), image {plan['version']}; `althan campaign run {name}`"
    )


@app.command("run")
def run_cmd(
    name: str = typer.Argument(..., help="The campaign."),
    listen: str | None = typer.Option(None, "--listen", help="Override the plan's HOST:PORT."),
    retries: int = typer.Option(5, "--retries", min=0, help="Re-sends to an unreachable DCC."),
    store: Path = Store,
) -> None:
    """Send the waves, listen for the DSP's responses and alerts, judge each wave; ends when
    the campaign is completed or cancelled (exit 0) or paused (exit 3)."""
    from althan.duis.service_requests import SignedRequest
    from althan.model import FirmwareVersion
    from althan.supplier.campaign_listen import ResponseEndpoint, parse_listen
    from althan.supplier.campaign_run import CampaignError, CampaignRunner
    from althan.supplier.client import DuisClient, SyncAnswer
    from althan.supplier.intake import IntakeAnswer, submit_outcomes

    s = _store(store)
    c = s.campaign(name)
    if c is None:
        _fail(f"no campaign {name!r} in {s.path}", 2)
    plan = c.plan
    user = EUI64.parse(plan["user"])
    key, cert = _credentials(user, plan.get("key"), plan.get("cert"))
    trust = _trust(plan.get("dcc_cert"))
    try:
        host, port = parse_listen(listen or plan["listen"])
    except ValueError as exc:
        _fail(str(exc), 2)
    client = DuisClient(user, key, cert)
    version = FirmwareVersion.parse(plan["version"])

    def build(counter: int, devices: list[EUI64]) -> SignedRequest:
        client.counter = counter - 1
        return client.update_ppmid_firmware(c.image, version, devices)

    def post(req: SignedRequest) -> SyncAnswer:
        return client.post(plan["dcc"], req)

    def submit(body: bytes, submission: str) -> IntakeAnswer:
        return submit_outcomes(plan["dcc"], user, key, body, "application/json", submission)

    runner = CampaignRunner(
        s,
        name,
        post=post,
        build=build,
        trust=trust,
        user=user,
        submit=submit,
        retries=retries,
        poll=0.2 if plan["devices"] < 5_000 else 1.0,  # each look reads every attempt
    )
    console = Console(stderr=True)
    endpoint = ResponseEndpoint(s, trust)
    try:
        with endpoint.serving(host, port), _progress(console, s, name, runner) as tick:
            console.print(f"campaign {name}: listening on http://{host}:{port}/smartdcc/duis")
            done = runner.run(tick)
    except CampaignError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(str(exc))
    typer.echo(f"campaign {name} {done.state}: {done.message}")
    if done.state == "paused":
        raise typer.Exit(PAUSED_EXIT)


def _progress(console: Console, store: Any, name: str, runner: Any) -> Any:
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    @contextmanager
    def bars() -> Any:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
            transient=False,
        ) as bar:
            tasks: dict[int, Any] = {}

            def tick() -> None:
                counts = store.wave_counts(name)
                for w in store.waves(name):
                    wc = counts.get(w.wave)
                    if wc is None:
                        continue
                    if w.wave not in tasks:
                        tasks[w.wave] = bar.add_task(f"{w.kind} {w.wave}", total=w.size, detail="")
                    detail = ", ".join(f"{n} {st}" for st, n in sorted(wc.items()))
                    bar.update(
                        tasks[w.wave],
                        completed=wc["activated"] + wc["failed"],
                        detail=f"{w.state}: {detail}",
                    )

            yield tick

    return bars()


@app.command("status")
def status_cmd(
    name: str = typer.Argument(..., help="The campaign."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object (the last line)."),
    store: Path = Store,
) -> None:
    """The campaign's state, its waves, and its devices' states and failure reasons."""
    from althan.supplier import campaign

    s = _store(store)
    try:
        st = campaign.status(s, name)
    except campaign.CampaignOpError as exc:
        _fail(str(exc), 2)
    if as_json:
        sys.stdout.write(json.dumps(st, sort_keys=True) + "\n")
        return
    console = Console(width=160)
    console.print(
        f"[bold]{name}[/]: {st['state']}" + (f" — {st['reason']}" if st["reason"] else "")
    )
    t = Table(title="waves")
    for col in ("wave", "kind", "state", "devices", "counts", "failed %", "decision"):
        t.add_column(col)
    for w in st["waves"]:
        rate = "-" if w["failure_rate"] is None else f"{w['failure_rate']:g}"
        counts = ", ".join(f"{n} {k}" for k, n in w["counts"].items())
        t.add_row(
            str(w["wave"]), w["kind"], w["state"], str(w["devices"]), counts, rate, w["decision"]
        )
    console.print(t)
    console.print("devices: " + ", ".join(f"{n} {k}" for k, n in st["counts"].items() if n))
    if st["failures"]:
        console.print("failures: " + ", ".join(f"{n} {k}" for k, n in st["failures"].items()))


def _op(name: str, store: Path, what: str) -> None:
    from althan.supplier import campaign

    s = _store(store)
    fn = {"pause": campaign.pause, "resume": campaign.resume, "cancel": campaign.cancel}[what]
    try:
        typer.echo(f"campaign {name} {fn(s, name, _now())}")
    except campaign.CampaignOpError as exc:
        _fail(str(exc))


@app.command("pause")
def pause_cmd(name: str = typer.Argument(...), store: Path = Store) -> None:
    """No further wave until `resume` (what is in flight goes on)."""
    _op(name, store, "pause")


@app.command("resume")
def resume_cmd(name: str = typer.Argument(...), store: Path = Store) -> None:
    """Go on after a pause (a wave over its threshold is let through); then `run`."""
    _op(name, store, "resume")


@app.command("cancel")
def cancel_cmd(name: str = typer.Argument(...), store: Path = Store) -> None:
    """No further wave; what is in flight finishes (`run` ends once it has)."""
    _op(name, store, "cancel")


@app.command("retry-failed")
def retry_failed_cmd(
    name: str = typer.Argument(...),
    reason: list[str] | None = typer.Option(
        None, "--reason", help="Only the devices failed for this reason (repeatable)."
    ),
    store: Path = Store,
) -> None:
    """Queue a new 11.4 wave for the failed devices (the DSP has released them); `run` sends
    it."""
    from althan.supplier import campaign

    s = _store(store)
    try:
        n = campaign.retry_failed(s, name, reason or None, _now())
    except campaign.CampaignOpError as exc:
        _fail(str(exc))
    if n == 0:
        _fail("no failed device to retry" + (f" for {', '.join(reason)}" if reason else ""))
    typer.echo(f"campaign {name}: {n} failed devices queued in a new wave; `campaign run {name}`")


@app.command("plot")
def plot_cmd(
    name: str = typer.Argument(..., help="The campaign."),
    out: Path = typer.Option(..., "--out", help="The plot to write: FILE.svg or FILE.png."),
    store: Path = Store,
) -> None:
    """Plot the campaign's outcomes over time, per wave (activated solid, failed dashed)."""
    from althan.supplier.campaign_plan import PlanError
    from althan.supplier.campaign_plot import plot

    s = _store(store)
    try:
        series = plot(s, name, out)
    except PlanError as exc:
        _fail(str(exc), 2)
    finally:
        s.close()
    drawn = ", ".join(f"wave {w} {state} {len(h)}" for (w, state), h in series.items())
    typer.echo(f"{out}: {drawn}")
