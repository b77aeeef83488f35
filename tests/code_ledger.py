"""The code ledger: which DUIS response codes and DCC alert codes the DSP produced in this run.

Registered by tests/conftest.py (`register`). In every pytest process it wraps the two places
where the DSP's codes come out (`install_hooks`, the ONE function that names them), records
each code with the test that was running, and:

* under pytest-xdist, each worker writes what it saw to a JSON file in a temporary directory
  the controller created and handed to it (``workerinput``); the controller merges the files;
* at the end of a FULL run (the testpaths collected, no ``-k``/``-m``, no explicit paths, no
  deselection, not stopped early), a catalogue code (`althan.dsp.catalogue.RESPONSE_CODES` and
  `DCC_ALERTS`) that no test produced fails the session (exit status 1) and is printed;
* ``--code-ledger-json=PATH`` writes the merged ledger ``{code: [test node IDs]}`` (what
  mutate/knockout.py uses to pick the tests that can see a rule).

Only what the DSP does in the pytest processes is seen: a DSP in a subprocess (the CLI tests)
is not.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from althan.dsp import alerts
from althan.dsp import catalogue as C
from althan.dsp.duis_io import DuisIO
from althan.dsp.service import Dsp

Record = Callable[[str], None]
"""record(code): called with every code the DSP produces."""

_DIR_KEY = "code_ledger_dir"


@contextmanager
def install_hooks(record: Record) -> Iterator[None]:
    """Wrap the DSP's two code outlets for as long as the context lasts:

    * `Dsp.handle_duis`: every synchronous DUIS answer (its `DuisReply.response_code`);
    * `DuisIO.response`: every DUIS response the DSP signs, synchronous or not (a device
      response, the answer to a quarantined request once it is decided);
    * `althan.dsp.alerts.send`: every DCC alert the DSP queues for a user (the code the
      catalogue binds to its body).
    """
    handle_duis, send_alert, response = Dsp.handle_duis, alerts.send, DuisIO.response

    def response_recorded(self: DuisIO, **kwargs: Any) -> Any:
        out = response(self, **kwargs)
        record(kwargs["code"])
        return out

    def handle_duis_recorded(self: Dsp, *args: Any, **kwargs: Any) -> Any:
        reply = handle_duis(self, *args, **kwargs)
        record(reply.response_code)
        return reply

    def send_alert_recorded(
        conn: Any, duis: Any, outbox: Any, user: Any, body: Any, *a: Any, **k: Any
    ) -> Any:
        out = send_alert(conn, duis, outbox, user, body, *a, **k)
        record(C.alert_for(body).code)
        return out

    Dsp.handle_duis = handle_duis_recorded  # type: ignore[method-assign]
    DuisIO.response = response_recorded  # type: ignore[method-assign]
    alerts.send = send_alert_recorded
    try:
        yield
    finally:
        Dsp.handle_duis = handle_duis  # type: ignore[method-assign]
        DuisIO.response = response  # type: ignore[method-assign]
        alerts.send = send_alert


def catalogue_codes() -> dict[str, str]:
    """Every code of the catalogue -> its meaning."""
    codes = {c.code: c.meaning for c in C.RESPONSE_CODES}
    codes.update({a.code: a.meaning for a in C.DCC_ALERTS})
    return codes


class CodeLedger:
    """The pytest plugin (one instance per pytest process)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.test = "<no test>"
        self.worker = getattr(config, "workerinput", None)
        self.own_dir: Path | None = None
        self.deselected = False
        self.missing: dict[str, str] = {}
        self._hooks = install_hooks(self._record)
        self._hooks.__enter__()

    def _record(self, code: str) -> None:
        self.seen[code].add(self.test)

    # -- where the results go
    @property
    def directory(self) -> Path:
        if self.worker is not None:
            return Path(self.worker[_DIR_KEY])
        if self.own_dir is None:
            self.own_dir = Path(tempfile.mkdtemp(prefix="althan-code-ledger-"))
        return self.own_dir

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: tell each worker where to write what it saw."""
        node.workerinput[_DIR_KEY] = str(self.directory)

    # -- which test is running
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.test = item.nodeid
        try:
            return (yield)
        finally:
            self.test = "<no test>"

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        if items:
            self.deselected = True

    # -- the end
    def _merged(self) -> dict[str, set[str]]:
        merged: dict[str, set[str]] = defaultdict(set)
        for code, tests in self.seen.items():
            merged[code] |= tests
        for f in sorted(self.directory.glob("worker-*.json")):
            for code, tests in json.loads(f.read_text()).items():
                merged[code] |= set(tests)
        return merged

    def _full_run(self, session: pytest.Session) -> bool:
        opt = self.config.option
        return (
            self.config.args_source is pytest.Config.ArgsSource.TESTPATHS
            and not opt.keyword
            and not opt.markexpr
            and not getattr(opt, "deselect", None)
            and not getattr(opt, "ignore", None)
            and not getattr(opt, "ignore_glob", None)
            and not getattr(opt, "lf", False)
            and not getattr(opt, "failedfirst", False)
            and not opt.maxfail
            and not self.deselected
            and not session.shouldstop
            and session.testscollected > 0
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker is not None:
            path = self.directory / f"worker-{self.worker['workerid']}.json"
            path.write_text(json.dumps({k: sorted(v) for k, v in self.seen.items()}))
            return
        merged = self._merged()
        out = self.config.getoption("code_ledger_json")
        if out:
            Path(out).write_text(
                json.dumps({k: sorted(v) for k, v in sorted(merged.items())}, indent=1)
            )
        if self._full_run(session):
            self.missing = {c: m for c, m in catalogue_codes().items() if c not in merged}
            if self.missing and session.exitstatus == pytest.ExitCode.OK:
                # a full run that passed but left a code unproduced fails
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.missing:
            tr = terminalreporter
            tr.section("code ledger", sep="=", red=True, bold=True)
            tr.line(
                f"{len(self.missing)} catalogue code(s) were never produced by any test "
                "(src/althan/dsp/catalogue.py; each needs a test that provokes it):",
                red=True,
            )
            for code, meaning in sorted(self.missing.items()):
                tr.line(f"  {code:<8} {meaning}", red=True)

    def pytest_unconfigure(self) -> None:
        self._hooks.__exit__(None, None, None)
        if self.own_dir is not None:
            shutil.rmtree(self.own_dir, ignore_errors=True)


def addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--code-ledger-json",
        help="write the codes the DSP produced, with the tests that produced them, to this file",
    )


def register(config: pytest.Config) -> None:
    config.pluginmanager.register(CodeLedger(config), "code_ledger")
