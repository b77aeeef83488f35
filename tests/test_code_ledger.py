"""The code ledger plugin (tests/code_ledger.py), on a tiny suite run in a subprocess: it fails
a full run in which a catalogue code was never produced, says which, merges what pytest-xdist
workers saw, and stays quiet on a partial run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CONFTEST = """
import os
import code_ledger
from althan.dsp import catalogue as C

def pytest_addoption(parser):
    code_ledger.addoption(parser)

def pytest_configure(config):
    # the tiny suite's catalogue: the codes named in TINY_CODES
    names = os.environ["TINY_CODES"].split(",")
    C.RESPONSE_CODES = tuple(getattr(C, n) for n in names if not n.startswith("N"))
    C.DCC_ALERTS = tuple(getattr(C, n) for n in names if n.startswith("N"))
    code_ledger.register(config)
"""

TESTS_A = """
from datetime import UTC, datetime
import pytest
from althan.runtime.assemble import build_dsp

T = datetime(2026, 12, 1, tzinfo=UTC)

@pytest.fixture(scope="module")
def dsp(tmp_path_factory):
    return build_dsp(tmp_path_factory.mktemp("d")).dsp

def test_not_well_formed(dsp):
    assert dsp.handle_duis("D", b"<", T).response_code == "E19"

def test_too_large(dsp):
    assert dsp.handle_duis("D", b"<a>" + b" " * 14_000_001 + b"</a>", T).response_code == "E100"
"""

TESTS_B = """
from datetime import UTC, datetime
from althan.dsp import alerts
from althan.dsp.bodies import PpmidFirmwareAlert
from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import build_dsp

def test_an_alert(tmp_path):
    dsp = build_dsp(tmp_path).dsp
    now = datetime.now(UTC)
    body = PpmidFirmwareAlert(TEST_SUPPLIER_EUI, 0x8F8B, now, "00020000", True)
    with dsp.engine.begin() as conn:
        alerts.send(conn, dsp.duis, dsp.outbox, TEST_SUPPLIER_EUI, body, now)
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    (d / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["t"]\n')
    (d / "t").mkdir()
    (d / "conftest.py").write_text(CONFTEST)
    (d / "t" / "test_a.py").write_text(TESTS_A)
    (d / "t" / "test_b.py").write_text(TESTS_B)
    return d


def _run(tiny: Path, codes: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TINY_CODES=codes)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=tiny,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_full_run_that_saw_every_code_passes_and_writes_the_ledger(tiny: Path) -> None:
    """Under xdist the tests run in the workers only: the controller knows the codes (and the
    run passes) only if it merged what the workers wrote."""
    out = tiny / "ledger.json"
    p = _run(tiny, "E19,E100,N39", "-n", "2", "--code-ledger-json", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "code ledger" not in p.stdout
    assert json.loads(out.read_text()) == {
        "E100": ["t/test_a.py::test_too_large"],
        "E19": ["t/test_a.py::test_not_well_formed"],
        "N39": ["t/test_b.py::test_an_alert"],
    }


def test_a_full_run_fails_on_a_code_no_test_produced_and_names_it(tiny: Path) -> None:
    p = _run(tiny, "E19,E100,E110403,N39,N42")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "code ledger" in p.stdout
    assert "2 catalogue code(s) were never produced by any test" in p.stdout
    listed = [line.split()[0] for line in p.stdout.splitlines() if line.startswith("  ")]
    assert listed == ["E110403", "N42"]
    assert "3 passed" in p.stdout  # the tests themselves passed


def test_a_partial_run_does_not_judge_the_catalogue(tiny: Path) -> None:
    for args in (("-k", "well_formed"), ("t/test_a.py",)):
        p = _run(tiny, "E19,E100,E110403,N39", *args)
        assert p.returncode == 0, (args, p.stdout + p.stderr)
        assert "never produced" not in p.stdout, args
