"""Mutation testing of the rule-bearing code with mutmut 3 (`make mutate`).

    python mutate/mutate.py                      # `make mutate`: every module in turn, dsp/ first
    python mutate/mutate.py --only dsp.srv_12    # only modules whose name contains this
    python mutate/mutate.py --report             # no run: the report from what mutants/ holds
    python mutate/mutate.py --docs docs/testing.md   # also write the tables there
    python mutate/mutate.py --jobs 2             # mutants tested side by side (default 1)
    python mutate/mutate.py --decisions          # only mutants of conditions, returns, raises
    python mutate/mutate.py --survivors          # re-test only last run's survivors (new tests)
    python mutate/mutate.py --retry              # survivors against their tests' files, here
    python mutate/mutate.py --unchecked [--decisions]   # what a stopped run left, the same way
    python mutate/mutate.py --try NAME tests/x.py -k y   # one mutant against these tests (from
                                                 # tests/, not mutants/: a test just written)

WHAT IS MUTATED. The files in ``[tool.mutmut] only_mutate`` of pyproject.toml: the gateway
pipeline, the SRV handlers, the firmware state machine, the CPL, the GBCS signature/MAC and
certificate-replacement checks, the OTA image signature and integrity checks. mutmut (3.x)
copies ``src/`` and ``tests/`` into ``mutants/`` (not in git) and puts every mutant of a
function behind a trampoline, so one copy holds them all and the environment picks one.

WHICH TESTS RUN FOR A MUTANT. mutmut first runs the folders of
``pytest_add_cli_args_test_selection`` once with tracing ("stats") and records which test
called which mutated function; a mutant then runs only the tests that called its function,
stopping at the first failure (``-x``). That is the map from module to tests, kept by the tool
rather than by hand: finer than a folder per module, and it follows the code when it moves.
The stats are kept in ``mutants/`` and refreshed for new tests only; remove ``mutants/`` after
changing the test selection or moving code between files.

HOW IT RUNS. Module by module in ``MODULES`` order (dsp/ first), each ``mutmut run`` under
``nice -n 10`` with ``--jobs`` children (the machine is shared). mutmut remembers every result
and a module already done is not run again unless its code changed, so an interrupted
``make mutate`` goes on where it stopped.

THE REPORT. For each module: killed/total, survived, and of the survivors those EQUIVALENT
(listed below with the reason, each with a fragment of its diff so that a list made for other
code is noticed: a listed name whose diff lacks the fragment is reported "stale") and those
that change only the wording of a refusal's detail text (``Reject(code, "...")``: the code, the
store and the answer's code are unchanged; no test pins wording, by choice), found from the
mutant's syntax tree. Every other survivor is listed as "to kill": a test is missing.
Exit status 0 when no survivor is left to kill, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
BIN = Path(sys.executable).parent
BEGIN, END = "<!-- mutation table: begin -->", "<!-- mutation table: end -->"

MODULES = (
    "althan.dsp.srv_12",
    "althan.dsp.srv_8",
    "althan.dsp.srv_11",
    "althan.dsp.srv_critical",
    "althan.dsp.firmware",
    "althan.dsp.cpl",
    "althan.dsp.gateway",
    "althan.gbcs.crypto",
    "althan.gbcs.device_security",
    "althan.zigbee.ota.integrity",
)

STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    -11: "segfault",
    None: "not checked",
}
"""mutmut's exit codes (mutmut/stats.py `status_by_exit_code`); anything else is suspicious."""

EQUIVALENT: dict[str, tuple[str, str]] = {
    # mutant name: (a fragment of its diff, why no input can tell it from the code)
    "althan.dsp.srv_12.x_srv_12_2__mutmut_12": (
        "'DeviceID') or '[ → XXXX]",
        "the schema requires DeviceID (an EUI): the `or` default is never used",
    ),
    "althan.dsp.srv_12.x_srv_12_2__mutmut_22": (
        "'DeviceType') or '[ → XXXX]",
        "the schema requires DeviceType (an enumeration): the `or` default is never used",
    ),
    "althan.dsp.srv_8.x_users_device__mutmut_11": (
        "'DeviceID') or '[ → XXXX]'",
        "the schema requires the body's DeviceID (8.11): the `or` default is never used",
    ),
    "althan.dsp.srv_8.x_srv_8_2__mutmut_12": (
        "if len(b) [ → and False ]",
        "only E21's detail text names what the 8.2 searched by (the schema requires one choice)",
    ),
    "althan.dsp.srv_8.x_srv_8_2__mutmut_13": (
        "if len(b) [ → or True ]",
        "only E21's detail text names what the 8.2 searched by (the schema requires one choice)",
    ),
    **{
        f"althan.dsp.srv_8.x_srv_8_11__mutmut_{n}": (
            fragment,
            "the schema requires RequestType (Add or Remove): the `or` default is never used",
        )
        for n, fragment in (
            (33, "or '[Add → XXAddXX]'"),
            (34, "or '[A → a]dd'"),
            (35, "or 'A[dd → DD]'"),
        )
    },
    "althan.dsp.srv_8.x_srv_8_11__mutmut_92": (
        "'InstallCode') or '[ → XXXX]'",
        "the schema requires AddDeviceToCHFWhitelist's InstallCode: the `or` default is unused",
    ),
    **{
        f"althan.dsp.srv_8.x_srv_8_2__mutmut_{n}": (
            fragment,
            "only E21's detail text names what the 8.2 searched by",
        )
        for n, fragment in (
            (11, "by = [etree.QName(b[0]).localname if len(b) else 'nothing' → None]"),
            (16, "else '[nothing → XXnothingXX]'"),
            (17, "else '[nothing → NOTHING]'"),
        )
    },
    "althan.dsp.cpl.x_entries__mutmut_3": (
        "order_by([cpl_entries.c.id → None])",
        "on SQLite, the store of the tests mutmut runs, `id` is the rowid and a scan returns rows "
        "by rowid: the ORDER BY is for PostgreSQL, whose heap order an UPDATE changes",
    ),
    "althan.dsp.srv_11.x__image__mutmut_35": (
        "'FirmwareVersion') or '[ → XXXX]'",
        "the schema requires UpdatePPMIDFirmware's FirmwareVersion: the `or` default is unused",
    ),
    "althan.dsp.srv_11.x_srv_11_4__mutmut_12": (
        "'DeviceIDList') or '[ → XXXX]'",
        "the schema requires a DeviceIDList of at least one EUI: the `or` default is unused",
    ),
    "althan.dsp.gateway.x_recorded__mutmut_15": (
        "raise Reject([C.E12 → None]",
        "unreachable: `fresh_counter` claims the RequestID's counter first, so its record is new",
    ),
    "althan.dsp.gateway.x_recorded__mutmut_17": (
        "raise Reject([C.E12,  → ]",
        "unreachable: `fresh_counter` claims the RequestID's counter first, so its record is new",
    ),
    "althan.dsp.srv_critical.x__ecs70_payload__mutmut_36": (
        "'TolerancePeriod') or '[0 → XX0XX]'",
        "the schema requires TolerancePeriod: the `or` default is never used",
    ),
    "althan.dsp.srv_critical.x__cs02b_payload__mutmut_18": (
        "'RemotePartyRole') or '[ → XXXX]'",
        "the schema requires RemotePartyRole (an enumeration): the `or` default is never used",
    ),
    "althan.dsp.srv_critical.x__cs02b_payload__mutmut_87": (
        "if not certs [or not path → and (not path)]",
        "with certificates missing and a path given, the CS02b builder refuses the same E19",
    ),
    "althan.dsp.srv_critical.x__cs02b_payload__mutmut_103": (
        "text(b, 'ExecutionDateTime') [ → or True ]",
        "with no ExecutionDateTime, `_datetime(None)` is None too: the same immediate CS02b",
    ),
    **{
        f"althan.dsp.srv_critical.x__cs02b_payload__mutmut_{n}": (
            fragment,
            "the schema requires ApplyTimeBasedCPVChecks: the `or` default is never used",
        )
        for n, fragment in ((200, "or '[true → XXtrueXX]'"), (201, "or '[true → TRUE]'"))
    },
    **{
        f"althan.dsp.srv_critical.x__cs02b_payload__mutmut_{n}": (
            fragment,
            "unreachable: role, certificates and path are checked before, the schema bounds the "
            "floor seq numbers (2^63 - 1) and the counter is kept to 62 bits, so the builder "
            "has nothing left to refuse",
        )
        for n, fragment in (
            (206, "raise Reject([C.E19 → None]"),
            (208, "raise Reject([C.E19,  → ]"),
        )
    },
    "althan.dsp.firmware.x_keep_image__mutmut_5": (
        "select([firmware_images.c.sha256 → None])",
        "an existence check: SELECT NULL … WHERE sha256 = ? has a row exactly when the image does",
    ),
    "althan.dsp.firmware.x_advance__mutmut_25": (
        "state is DeliveryState.FAILED [ → or True ]",
        "every caller passes a reason only with a failing event (the CSP names one only for a "
        "delivery that failed; the alerts' handlers pass '' on success)",
    ),
    "althan.dsp.firmware.x_next_deadline__mutmut_3": (
        "if value is None [ → and False ]",
        "UTCDateTime.process_result_value answers None for None itself",
    ),
    "althan.dsp.firmware.x_next_deadline__mutmut_7": (
        "process_result_value(value, [conn.dialect → None])",
        "UTCDateTime.process_result_value does not read the dialect",
    ),
    "althan.dsp.srv_critical.x_signed_precommand__mutmut_52": (
        "if msg.mac is not None [or → and] msg.security_header",
        "a decoded GBCS message has a MAC exactly when it has the 0xDD security header",
    ),
    "althan.dsp.srv_8.x_srv_8_7_2__mutmut_3": (
        "unjoin=[Fals → Non]e",
        "`_join_unjoin` only tests `if unjoin`: None is as false as False, the same join",
    ),
    "althan.dsp.srv_8.x__join_unjoin__mutmut_17": (
        "if other_id [ → or True ]",
        "the schema requires JoinOrUnjoinDevice's OtherDeviceID: other_id is always given",
    ),
    "althan.dsp.srv_8.x__join_unjoin__mutmut_21": (
        "if other_id [ → or True ]",
        "the schema requires JoinOrUnjoinDevice's OtherDeviceID: other_id is always given",
    ),
}

_SRV = "tests/rules/test_rules_srv.py::"
_FW = _SRV + "test_12_2_with_a_firmware_version_records_it_against_the_request"
_EMPTY = _SRV + "test_12_2_with_an_empty_manufacturer_and_model_records_them_empty"
_ACCEPTED = _SRV + "test_accepted_8_x_requests_queue_their_gbcs_command_and_count_one_device"
KILLED_BY: dict[str, str] = {
    # mutant: the test (added after mutmut's run) that `--retry` tries it against first
    "althan.dsp.srv_8.x_srv_8_2__mutmut_42": "tests/rules/test_rules_firmware_records.py::"
    "test_8_2_reports_the_cpl_status_of_the_version_a_device_runs",
    **{
        f"althan.dsp.srv_11.x_applicable__mutmut_{n}": "tests/rules/test_rules_11_4.py::"
        "test_not_applicable_where_the_cpl_covers_the_device_but_the_image_header_does_not"
        for n in (4, 10, 12, 14, 18)  # timeouts under load in mutmut's run
    },
    **{
        f"althan.dsp.cpl.{m}": "tests/rules/test_rules_firmware_records.py::"
        "test_8_2_reports_the_cpl_status_of_the_version_a_device_runs"
        for m in ("x__entry__mutmut_8",)
    },
    "althan.dsp.srv_12.x_srv_12_2__mutmut_41": _FW,
    "althan.dsp.srv_12.x_srv_12_2__mutmut_45": _FW,
    "althan.dsp.srv_12.x_srv_12_2__mutmut_62": _EMPTY,
    "althan.dsp.srv_12.x_srv_12_2__mutmut_73": _EMPTY,
    "althan.dsp.srv_12.x_srv_12_2__mutmut_86": _FW,
    "althan.dsp.srv_12.x_srv_12_2__mutmut_89": _FW,
    "althan.dsp.srv_12.x_srv_12_2__mutmut_90": _FW,
    "althan.dsp.srv_8.x_srv_8_4__mutmut_91": _FW,
    "althan.dsp.srv_8.x_srv_8_4__mutmut_92": _FW,
    **{
        f"althan.dsp.srv_8.{m}": _ACCEPTED
        for m in (
            "x_srv_8_2__mutmut_27",
            "x_srv_8_2__mutmut_28",
            "x_srv_8_2__mutmut_33",
            "x_srv_8_2__mutmut_34",
            "x_srv_8_2__mutmut_35",
            "x_srv_8_2__mutmut_37",
            "x_srv_8_4__mutmut_115",
            "x_srv_8_4__mutmut_116",
            "x__join_unjoin__mutmut_41",
            "x__join_unjoin__mutmut_42",
            "x__join_unjoin__mutmut_67",
            "x__join_unjoin__mutmut_68",
            "x__join_unjoin__mutmut_88",
            "x__join_unjoin__mutmut_89",
            "x_srv_8_7_2__mutmut_7",
            "x_srv_8_8_2__mutmut_3",
            "x_srv_8_8_2__mutmut_7",
            "x_srv_8_11__mutmut_50",
            "x_srv_8_11__mutmut_52",
            "x_srv_8_11__mutmut_55",
            "x_srv_8_11__mutmut_56",
            "x_srv_8_11__mutmut_57",
            *(f"x_srv_8_11__mutmut_{n}" for n in (100, 103, 105, 108, 109, 110, 112, 121)),
            *(f"x_srv_8_11__mutmut_{n}" for n in (156, 157, 158, 159, 160)),
        )
    },
}

REJECTORS = {"Reject", "DuisRejected", "IllegalTransition"}
"""Calls whose arguments after the first are detail text (the first is the code)."""


@dataclass
class Module:
    name: str
    counts: Counter[str] = field(default_factory=Counter)
    survivors: list[tuple[str, str, str]] = field(default_factory=list)
    """(mutant, its diff's changed lines, verdict: "equivalent: why" / "detail text" / "to kill"),
    for every mutant that survived or timed out"""
    stale: list[str] = field(default_factory=list)
    seconds: float | None = None


def _env() -> dict[str, str]:
    """The test environment: the reference artefacts beside the worktree, as conftest.py would
    find them from the real tests/ (mutmut runs the copy in mutants/, one level deeper)."""
    env = dict(os.environ)
    env.setdefault("ALTHAN_REFERENCE_DIR", str(ROOT.parent / "shared" / "reference"))
    return env


def run_module(name: str, jobs: int, survivors_only: bool, decisions: bool) -> float:
    """``mutmut run`` of every mutant of module `name` (all of them again: mutmut re-tests the
    mutants it is named), or only of those that survived last time, or only of those that
    change a decision or an answer (`rule_bearing`)."""
    start = time.monotonic()
    MUTANTS.mkdir(exist_ok=True)
    link = MUTANTS / "node_modules"  # tests/conftest.py looks beside tests/
    if not link.exists():
        link.symlink_to(ROOT / "node_modules")
    cmd = ["nice", "-n", "10", str(BIN / "mutmut"), "run", "--max-children", str(jobs)]
    if survivors_only:
        names = [k for k, _, _ in collect(name).survivors]
    elif decisions:
        if not (MUTANTS / "src" / (name.replace(".", "/") + ".py")).is_file():
            # a first run: mutmut generates the mutants (and traces the tests) before the
            # decisions can be read from them; it runs the first mutant of each function
            subprocess.run([*cmd, f"{name}.*__mutmut_1"], cwd=ROOT, env=_env(), check=True)
        names = tiers(name)[0]
    else:
        names = [f"{name}.*"]
    if names:
        subprocess.run([*cmd, *names], cwd=ROOT, env=_env(), check=True)
    return time.monotonic() - start


def try_mutant(name: str, pytest_args: list[str]) -> int:
    """Run `pytest_args` from the worktree (its tests/, with any test not yet copied into
    mutants/) against the mutants' src/ with mutant `name` switched on; 0 when it is killed."""
    env = _env() | {"MUTANT_UNDER_TEST": name, "PYTHONPATH": str(MUTANTS / "src")}
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    cmd = ["nice", "-n", "10", sys.executable, "-m", "pytest", "-x"]
    cmd += [*config["pytest_add_cli_args"], *pytest_args]  # as mutmut runs them
    failed = subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0
    print(f"{name}: {'killed' if failed else 'SURVIVED'}")
    return 0 if failed else 1


FIRST = ("tests/rules/", "tests/dsp/", "tests/gateway/")
"""The folders whose tests go first when a mutant is tried against files: the rule tests, quick
and the likeliest to kill."""


def _files(node_ids: list[str]) -> list[str]:
    files = {t.split("::")[0] for t in node_ids}
    rank = [i for i, d in enumerate(FIRST)]
    return sorted(files, key=lambda f: (next((i for i in rank if f.startswith(FIRST[i])), 9), f))


def retry_survivors(name: str) -> None:
    """Each survivor of module `name` (or mutant a stopped run left unchecked) that KILLED_BY
    names a test for (one added after mutmut's run) against that test, from the worktree's
    tests/, all in one pytest process (the mutant is switched per run, as mutmut does); a
    kill is written into mutmut's results (exit code 1), as `mutmut run` would."""
    meta = _meta(name)
    data = json.loads(meta.read_text())
    alive = {key for key, _, verdict in collect(name).survivors if verdict == "to kill"}
    unchecked = {k for k, c in data["exit_code_by_key"].items() if c is None}
    pairs = [(k, KILLED_BY[k]) for k in sorted((alive | unchecked) & KILLED_BY.keys())]
    if not pairs:
        return
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    env = _env() | {"PYTHONPATH": str(MUTANTS / "src")}
    job = json.dumps({"pairs": pairs, "args": ["-x", "-q", *config["pytest_add_cli_args"]]})
    cmd = ["nice", "-n", "10", sys.executable, str(Path(__file__)), "--batch", job]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("RESULT "):
            key, verdict = line.split()[1:]
            print(f"{key}: {verdict}")
            if verdict == "killed":
                data["exit_code_by_key"][key] = 1
    meta.write_text(json.dumps(data))


def _batch(job: str) -> int:
    """`--batch`: each (mutant, test) of the job in this process, one pytest run each."""
    import pytest  # only here: the driver itself needs no pytest

    spec = json.loads(job)
    for key, test in spec["pairs"]:
        os.environ["MUTANT_UNDER_TEST"] = key
        code = pytest.main([*spec["args"], test])
        print(f"RESULT {key} {'killed' if code != 0 else 'SURVIVED'}", flush=True)
    return 0


def check_unchecked(name: str, decisions: bool) -> None:
    """What an interrupted `mutmut run` left unchecked in module `name` (only the mutants of
    decisions, with `decisions`), each against the files of the tests tied to its function;
    its result written into mutmut's results (1 killed, 0 survived)."""
    stats = json.loads((MUTANTS / "mutmut-stats.json").read_text())
    tests = stats["tests_by_mangled_function_name"]
    meta = _meta(name)
    data = json.loads(meta.read_text())
    wanted = set(tiers(name)[0]) if decisions else None
    for key, code in list(data["exit_code_by_key"].items()):
        if code is not None or (wanted is not None and key not in wanted):
            continue
        files = _files(tests.get(key.rpartition("__mutmut_")[0], []))
        if files:
            data["exit_code_by_key"][key] = 1 if try_mutant(key, ["-q", *files]) == 0 else 0
            meta.write_text(json.dumps(data))


def _meta(name: str) -> Path:
    return MUTANTS / "src" / (name.replace(".", "/") + ".py.meta")


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    out: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        body = node.body if isinstance(node, ast.ClassDef) else [node]
        for f in body:
            if isinstance(f, ast.FunctionDef) and "__mutmut_" in f.name:
                out[f.name] = f
    return out


def _changed(a: ast.AST, b: ast.AST, chain: list[ast.AST]) -> list[ast.AST] | None:
    """The chain of nodes of ``b`` from its root down to the smallest node that holds every
    difference from ``a``; None when equal."""
    if type(a) is not type(b):
        return [*chain, b]
    diffs: list[tuple[object, object]] = []
    for name in a._fields:
        va, vb = getattr(a, name, None), getattr(b, name, None)
        if isinstance(va, list) and isinstance(vb, list):
            if len(va) != len(vb):
                return [*chain, b]
            diffs += [(x, y) for x, y in zip(va, vb, strict=True) if _dump(x) != _dump(y)]
        elif _dump(va) != _dump(vb):
            diffs.append((va, vb))
    if not diffs:
        return None
    x, y = diffs[0]
    if len(diffs) > 1 or not isinstance(x, ast.AST) or not isinstance(y, ast.AST):
        return [*chain, b]
    return _changed(x, y, [*chain, b])


def _dump(x: object) -> str:
    return ast.dump(x) if isinstance(x, ast.AST) else repr(x)


def _rejection(chain: list[ast.AST]) -> ast.Call | None:
    """The innermost ``Reject(...)``-like call on the chain."""
    found = None
    for node in chain:
        if isinstance(node, ast.Call):
            f = node.func
            if (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")) in REJECTORS:
                found = node
    return found


def _raised_message(chain: list[ast.AST]) -> bool:
    """The change is in the message of an error raised with one (``raise CplError(f"...")``,
    an exception that is not a ``Reject``): the wording a CLI or page shows, not which error."""
    for raised, call, arg in zip(chain, chain[1:], chain[2:], strict=False):
        if (
            isinstance(raised, ast.Raise)
            and isinstance(call, ast.Call)
            and call is raised.exc
            and arg in call.args
            and _rejection([call]) is None
        ):
            return True
    return False


def detail_text_only(orig: ast.FunctionDef, mutant: ast.FunctionDef) -> bool:
    """The mutant changes only the detail (the arguments after the first, the code) of a
    ``Reject(code, ...)``-like call: its text, or the detail dropped or None (then the code's
    meaning is the detail); or only the message of another error it raises."""
    before = ast.Module(body=orig.body, type_ignores=[])
    after = ast.Module(body=mutant.body, type_ignores=[])
    chain = _changed(before, after, [])
    back = _changed(after, before, [])
    if chain is None or back is None:
        return False
    if _raised_message(chain) and _raised_message(back):
        return True
    call, was = _rejection(chain), _rejection(back)
    if call is None or was is None or not call.args or not was.args:
        return False
    return _dump(call.func) == _dump(was.func) and _dump(call.args[0]) == _dump(was.args[0])


def rule_bearing(orig: ast.FunctionDef, mutant: ast.FunctionDef) -> bool:
    """The mutant changes a decision or an answer: a condition (of an ``if``, ``elif``,
    ``while``, conditional expression or comprehension filter, or any comparison or boolean
    operation), a ``return`` or ``raise``, or a ``Handled(...)`` (not only a refusal's detail)."""
    chain = _changed(
        ast.Module(body=orig.body, type_ignores=[]),
        ast.Module(body=mutant.body, type_ignores=[]),
        [],
    )
    if chain is None or detail_text_only(orig, mutant):
        return False
    for parent, child in itertools.pairwise(chain):
        if isinstance(parent, ast.If | ast.While | ast.IfExp) and child is parent.test:
            return True
        if isinstance(parent, ast.comprehension) and child in parent.ifs:
            return True
    for node in chain:
        if isinstance(node, ast.Compare | ast.BoolOp | ast.Return | ast.Raise):
            return True
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Handled":
            return True
    return False


def tiers(name: str) -> tuple[list[str], list[str]]:
    """The mutants of module `name`: those that change a decision or an answer, then the rest."""
    tree = ast.parse((MUTANTS / "src" / (name.replace(".", "/") + ".py")).read_text())
    funcs = _functions(tree)
    first: list[str] = []
    rest: list[str] = []
    for generated, f in funcs.items():
        if generated.endswith("__mutmut_orig"):
            continue
        orig = funcs[generated.rpartition("__mutmut_")[0] + "__mutmut_orig"]
        (first if rule_bearing(orig, f) else rest).append(f"{name}.{generated}")
    return first, rest


def _diff_lines(orig: ast.FunctionDef, mutant: ast.FunctionDef) -> str:
    """The changed line, shortened to the change with a little context either side."""
    a = ast.unparse(orig).splitlines()[1:]
    b = ast.unparse(mutant).splitlines()[1:]
    minus = " / ".join(x.strip() for x in a if x not in b)
    plus = " / ".join(x.strip() for x in b if x not in a)
    if not minus and not plus:
        return "(same text)"
    i = 0
    while i < min(len(minus), len(plus)) and minus[i] == plus[i]:
        i += 1
    j = 0
    while j < min(len(minus), len(plus)) - i and minus[-1 - j] == plus[-1 - j]:
        j += 1
    head = minus[:i] if i <= 30 else "…" + minus[i - 30 : i]
    tail = minus[len(minus) - j :] if j <= 20 else minus[len(minus) - j : len(minus) - j + 20] + "…"
    return f"{head}[{minus[i : len(minus) - j]} → {plus[i : len(plus) - j]}]{tail}"


def collect(name: str) -> Module:
    mod = Module(name)
    meta = _meta(name)
    if not meta.is_file():
        return mod
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    tree = ast.parse((MUTANTS / "src" / (name.replace(".", "/") + ".py")).read_text())
    funcs = _functions(tree)
    for key, code in codes.items():
        status = STATUS.get(code, "suspicious")
        mod.counts[status] += 1
        if status not in ("survived", "timeout"):  # a timeout: no test failed in the time
            continue
        generated = key.rpartition(".")[-1]
        orig = funcs[generated.rpartition("__mutmut_")[0] + "__mutmut_orig"]
        mutant = funcs[generated]
        diff = _diff_lines(orig, mutant)
        if key in EQUIVALENT:
            fragment, why = EQUIVALENT[key]
            if fragment not in diff:
                mod.stale.append(key)
            verdict = f"equivalent: {why}"
        elif detail_text_only(orig, mutant):
            verdict = "detail text"
        else:
            verdict = "to kill"
        mod.survivors.append((key, diff, verdict))
    listed = {k for k in EQUIVALENT if k.startswith(name + ".")}
    alive = {k for k, c in codes.items() if STATUS.get(c) in ("survived", "timeout")}
    mod.stale += sorted(listed - alive)
    return mod


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def table(mods: list[Module]) -> str:
    lines = [
        "| module | killed/total | survived | equivalent | detail text | to kill | "
        "no tests | timeout | not checked | run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in mods:
        c = m.counts
        verdicts = Counter(v.split(":")[0] for _, _, v in m.survivors)
        total = sum(c.values())
        secs = "" if m.seconds is None else f"{m.seconds / 60:.0f} min"
        lines.append(
            f"| `{m.name}` | {c['killed'] + c['caught by type check']}/{total} | {c['survived']} | "
            f"{verdicts['equivalent']} | {verdicts['detail text']} | {verdicts['to kill']} | "
            f"{c['no tests']} | {c['timeout']} | {c['not checked']} | {secs} |"
        )
    lines += ["", "Every survivor:", "", "| mutant | change | verdict |", "|---|---|---|"]
    for m in mods:
        for key, diff, verdict in m.survivors:
            lines.append(f"| `{key}` | `{_cell(diff)}` | {_cell(verdict)} |")
    return "\n".join(lines) + "\n"


def write_docs(path: Path, text: str) -> None:
    doc = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        sys.exit(f"{path} has no {BEGIN} … {END} block")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}{END}", doc))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", default="", help="only modules whose name contains this")
    ap.add_argument("--report", action="store_true", help="no run: report what mutants/ holds")
    ap.add_argument("--docs", type=Path, help="write the tables into this file")
    ap.add_argument("--jobs", type=int, default=1, help="mutants tested side by side")
    ap.add_argument("--decisions", action="store_true", help="only mutants of decisions")
    ap.add_argument("--survivors", action="store_true", help="re-test only the survivors")
    ap.add_argument("--retry", action="store_true", help="survivors against their test files")
    ap.add_argument("--unchecked", action="store_true", help="what a stopped run left, here")
    ap.add_argument("--try", dest="try_", metavar="MUTANT", help="one mutant against the tests")
    ap.add_argument("--batch", help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.batch:
        return _batch(args.batch)
    if args.try_:
        return try_mutant(args.try_, rest)
    if args.retry:
        for name in (m for m in MODULES if args.only in m):
            retry_survivors(name)
    if args.unchecked:
        for name in (m for m in MODULES if args.only in m):
            check_unchecked(name, args.decisions)
    if rest:
        ap.error(f"unrecognised arguments: {rest}")
    names = [m for m in MODULES if args.only in m]
    times = MUTANTS / "mutate-times.json"  # the wall time of each module's last run
    seconds: dict[str, float] = json.loads(times.read_text()) if times.is_file() else {}
    if not args.report and not args.retry and not args.unchecked:
        for name in names:
            took = run_module(name, args.jobs, args.survivors, args.decisions)
            seconds[name] = seconds.get(name, 0) + took  # every run of the module, summed
            times.write_text(json.dumps(seconds, indent=1))
    mods = [collect(n) for n in names]
    for m in mods:
        m.seconds = seconds.get(m.name)
    text = table(mods)
    print(text)
    if args.docs:
        write_docs(args.docs, text)
    stale = [k for m in mods for k in m.stale]
    if stale:
        print("EQUIVALENT entries that no longer match a survivor:", *stale, sep="\n  ")
    left = [k for m in mods for k, _, v in m.survivors if v == "to kill"]
    return 1 if left or stale else 0


if __name__ == "__main__":
    sys.exit(main())
