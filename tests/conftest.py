"""Shared fixtures: where the reference artefacts and the npm peers are; a DSP behind the DUIS
HTTP gateway."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

import code_ledger
from althan.model import TEST_SUPPLIER_EUI
from althan.runtime.assemble import Assembly, build_dsp, register_test_users
from althan.runtime.service import create_app
from althan.supplier.client import DuisClient
from gateway_support import FakeClock


def pytest_addoption(parser: pytest.Parser) -> None:
    code_ledger.addoption(parser)


def pytest_configure(config: pytest.Config) -> None:
    """The code ledger (tests/code_ledger.py): a full run fails on a catalogue code no test
    produced."""
    code_ledger.register(config)


ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("ALTHAN_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
# the npm packages: this checkout's, or where ALTHAN_NODE_MODULES says (as althan itself reads it)
NODE_MODULES = Path(os.environ.get("ALTHAN_NODE_MODULES", ROOT / "node_modules"))
TOOL_JAR = NODE_MODULES / "@smartdcc" / "duis-sign-wrap" / "dist" / "tool.jar"

# Hypothesis in CI: the same examples every run (derandomize), nothing kept between runs, no
# per-example deadline on a loaded machine, and a reproduction blob for any failure. Loaded when
# CI's ALTHAN_REQUIRE_REFERENCE=1 is set, or with HYPOTHESIS_PROFILE=ci (or another profile).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("ALTHAN_REQUIRE_REFERENCE") == "1" else None
)
if _PROFILE is not None:
    settings.load_profile(_PROFILE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers that follow from the fixtures a test uses, so that they cannot drift:
    ``postgres`` for every test on the local PostgreSQL server (``pg_url``, or the "postgresql"
    row of a test parametrised over both stores); ``java`` and ``slow`` for every test that runs
    the DCC Boxed reference tool in a JVM (``boxed``, which the gateway's signed templates use
    too); long tests carry ``slow`` themselves, the longest with a relative cost
    (``@pytest.mark.slow(10)``). Files with costlier tests come first, each file's tests
    kept together and in order (module fixtures are built once), so that `pytest -n 2` starts
    the long ones early (see `pytest_xdist_make_scheduler`)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "pg_url" in names or params.get("url") == "postgresql":
            item.add_marker(pytest.mark.postgres)
        if "boxed" in names or item.get_closest_marker("java") is not None:
            item.add_marker(pytest.mark.java)
            item.add_marker(pytest.mark.slow)
    cost: dict[str, int] = {}
    for it in items:
        path = it.nodeid.split("::", 1)[0]
        cost[path] = max(cost.get(path, 0), _cost(it))
    items.sort(key=lambda it: -cost[it.nodeid.split("::", 1)[0]])


def _cost(item: pytest.Item) -> int:
    mark = item.get_closest_marker("slow")
    return 0 if mark is None else int(mark.args[0]) if mark.args else 1


class _ByFile(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """`pytest -n N`: whole files to a worker, tests/gateway/ as one unit, in collection order.

    A session or module fixture is built once per worker, so the tests sharing one must share
    a worker: the gateway's signed templates (and the sweep built on them) serve four files of
    tests/gateway/, the module fixtures one file each. Units go out in collection order (slow
    tests first, see above) rather than xdist's largest-file-first."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        config.option.loadscopereorder = False
        super().__init__(config, log)

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return "tests/gateway" if path.startswith("tests/gateway/") else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> _ByFile | None:
    """`-n`'s default distribution ("load") becomes `_ByFile`; any other --dist is kept."""
    return _ByFile(config, log) if config.getvalue("dist") == "load" else None


def _require(what: str) -> None:
    if os.environ.get("ALTHAN_REQUIRE_REFERENCE") == "1":
        pytest.fail(f"{what} is required (ALTHAN_REQUIRE_REFERENCE=1) but missing")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """`../shared/reference`; skips when absent, fails when ALTHAN_REQUIRE_REFERENCE=1."""
    if not (REFERENCE / "README.md").is_file():
        _require(f"reference artefacts at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def tool_jar() -> Path:
    """The DCC Boxed signing/validation tool from the npm package @smartdcc/duis-sign-wrap."""
    if not TOOL_JAR.is_file() or shutil.which("java") is None:
        _require("the DCC Boxed reference tool (java + node_modules/@smartdcc/duis-sign-wrap)")
    return TOOL_JAR


@pytest.fixture(scope="session")
def node_modules() -> Path:
    if not (NODE_MODULES / "@smartdcc").is_dir():
        _require("node_modules/@smartdcc (run make setup)")
    return NODE_MODULES


PG_ADMIN_URL = os.environ.get(
    "ALTHAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def pg_url() -> object:
    """A fresh PostgreSQL database for one test, dropped afterwards.

    Skips when no server answers, unless ALTHAN_REQUIRE_POSTGRES=1 (CI), where it fails.
    """
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin_url = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"althan_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        if os.environ.get("ALTHAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (ALTHAN_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


BoxedRunner = Callable[[str, Sequence[Path]], list[tuple[int, bytes]]]
"""run(mode, files) -> [(exit code, stdout bytes)]; mode "sign", "sign-fresh" or "validate"."""
BOXED_JAVA = Path(__file__).with_name("BoxedTool.java")


def _boxed_runner(classpath: str, tmp_path_factory: pytest.TempPathFactory) -> BoxedRunner:
    java = shutil.which("java")
    assert java is not None

    def run(mode: str, files: Sequence[Path]) -> list[tuple[int, bytes]]:
        out = tmp_path_factory.mktemp(f"boxed-{mode}")
        proc = subprocess.run(
            [java, "-cp", classpath, str(BOXED_JAVA), mode, str(out), *map(str, files)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        codes = {}
        for line in proc.stdout.splitlines():
            rc, idx = line.split()
            codes[int(idx)] = int(rc)
        assert len(codes) == len(files), proc.stdout
        return [(codes[i], (out / f"{i}.out").read_bytes()) for i in range(len(files))]

    return run


@pytest.fixture(scope="session")
def boxed(tool_jar: Path, tmp_path_factory: pytest.TempPathFactory) -> BoxedRunner:
    """The DCC Boxed reference tool (Sign / Validate) over many files in ONE JVM."""
    return _boxed_runner(str(tool_jar), tmp_path_factory)


@pytest.fixture(scope="session")
def boxed_mp170(tool_jar: Path, tmp_path_factory: pytest.TempPathFactory) -> BoxedRunner:
    """The same reference tool with the schema `althan duis schema --export` wrote put first
    on its class path: how a DCC Boxed user signs and validates MP170 messages."""
    from althan.duis.schema import export_overlaid

    overlay = tmp_path_factory.mktemp("mp170-schema")
    export_overlaid(None, overlay)
    return _boxed_runner(f"{overlay}{os.pathsep}{tool_jar}", tmp_path_factory)


# ------------------------------------------------------------------ a DSP behind the DUIS gateway
# (tests/gateway and tests/rules: a DSP on SQLite in tmp_path, its FastAPI TestClient, the ZAZ1
# test supplier's DUIS client; helpers in tests/gateway_support.py)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def assembly(tmp_path: Path, clock: FakeClock) -> Assembly:
    a = build_dsp(tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'dsp.db'}")
    register_test_users(a, clock())
    return a


@pytest.fixture
def client(assembly: Assembly, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(assembly, clock=clock)) as c:
        yield c


@pytest.fixture
def supplier(assembly: Assembly) -> DuisClient:
    cert, key = assembly.zaz1[TEST_SUPPLIER_EUI]
    return DuisClient(TEST_SUPPLIER_EUI, key, cert)
