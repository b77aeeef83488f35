"""Knockout check: switch off each refusal rule of the DSP, one at a time, and see a test fail.

    python mutate/knockout.py                  # `make knockout`: ledger run, then every mutant
    python mutate/knockout.py --list           # only list the rules and their mutants
    python mutate/knockout.py --ledger F.json  # keep the code ledger in F.json, reuse it
    python mutate/knockout.py --only srv_11    # only rules whose file:function contains this
    python mutate/knockout.py --docs docs/testing.md  # also write the table there

WHAT IS A REFUSAL RULE. Matched on the AST of every module under ``src/althan/dsp``, by shape
and names, never by line number, so the matching survives code moving between functions and
modules (the redesign will put rules in functions that ``raise Reject(C.Exx, ...)`` or
``return Handled(C.Exx)``: both shapes are matched wherever they are):

1. An ``if``/``elif`` one of whose DIRECT body statements refuses:

   * ``return``/``raise`` of an expression naming a catalogue refusal code ``C.E…``/``C.W…``
     (``return Handled(C.E5)``, ``raise Reject(C.E2, "...")``, ``return C.E19`` from a helper
     that hands its caller the code to refuse with);
   * ``raise <…Reject…>(…)`` / ``raise <…Rejected…>(…)`` with a literal code (``"E19"``) or
     any other code (``raise Reject(handled.code)``: the rollback of every handler refusal);
   * ``return Handled(<name>)`` where the name is not an ``I`` code (a code the caller
     chose, as in the join/unjoin handler's ``refuse``);
   * ``<lists>["<Name>List"].append(...)``: the per-device classification of 11.4 into the
     lists of ``DSPUpdatePPMIDFirmwareWarning`` (code W110401).

2. An ``except`` clause one of whose direct body statements refuses in one of those ways
   (``except OtaError: return Handled(C.E110401)``, ``except SchemaInvalid: raise
   DuisRejected("E19", ...)``).

THE MUTANTS of a rule: for an ``if``, its condition replaced by ``False`` (the rule switched
off) and, when the condition is an ``or`` of several parts, each part dropped in turn (one
reason to refuse lost); for an ``except``, its body replaced by a bare ``raise`` (the error is
no longer turned into the refusal).

HOW EACH IS RUN. On a COPY of ``src/`` in a temporary directory (the real files are never
written; ``PYTHONPATH`` puts the copy first, ``PYTHONDONTWRITEBYTECODE`` keeps stale bytecode
out), with the tests that can see the rule. Those come from the code ledger
(tests/code_ledger.py, ``--code-ledger-json``), which records which tests produced which code:
a rule switched off behaves differently only where it fired, that is in tests that saw its
code (W110401 for a warning list, every refusal code for a rule whose code is not literal).
So a KILLED mutant makes ``make test`` fail. SURVIVED means no test notices the rule: add one.
A mutant no input can tell from the rule (the rule cannot be reached, or another check
refuses the same inputs with the same code) is listed in EQUIVALENT below with the reason; it
is reported as "equivalent", and it is an error if it is killed after all (the list is then
out of date).

Exit status 0 when every mutant is killed or listed equivalent, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFUSAL = re.compile(r"^[EW]\d+$")
LIST_KEY = re.compile(r"^[A-Za-z]+List$")
BEGIN, END = "<!-- knockout table: begin -->", "<!-- knockout table: end -->"
ANY = "any"
"""The code of a rule that refuses with a code that is not written at the rule."""

EQUIVALENT: dict[tuple[str, str, str, str, str], str] = {
    # (file, function, code, condition, mutant label or "*" for all its mutants): why no
    # input can tell the mutant from the rule: the rule cannot be reached, or another check
    # refuses the same inputs with the same code
    (
        "srv_critical.py",
        "signed_precommand",
        "E30",
        "issued is None or issued.user != ctx.user or issued.srv != ctx.srv.variant",
        "drop `issued.user != ctx.user`",
    ): (
        "the pre-command is looked up by its RequestID, whose originator is the signer (E4 "
        "otherwise): the user that asked for it is always the user"
    ),
    (
        "srv_critical.py",
        "signed_precommand",
        "E30",
        "msg.mac is not None or msg.security_header is not None",
        "drop `msg.mac is not None`",
    ): "gbcs.decode sets the MAC and the security header together (the 0xDD form) or neither",
    (
        "srv_critical.py",
        "signed_precommand",
        "E30",
        "msg.mac is not None or msg.security_header is not None",
        "drop `msg.security_header is not None`",
    ): "gbcs.decode sets the MAC and the security header together (the 0xDD form) or neither",
    (
        "srv_critical.py",
        "_cs02b_payload",
        "E19",
        "not certs or not path or any(c is None or not _is_certificate(c) for c in path)",
        "drop `not certs`",
    ): "the CS02b builder refuses an update with no certificate, and that is E19 too",
    (
        "srv_critical.py",
        "_cs02b_payload",
        "E19",
        "not certs or not path or any(c is None or not _is_certificate(c) for c in path)",
        "drop `not path`",
    ): "the schema requires one to three CertificationPathCertificates/Certificate",
    ("srv_critical.py", "_cs02b_payload", "E19", "except (ValueError, gbcs.GbcsError)", "*"): (
        "whatever the CS02b builder refuses is refused before it: no certificate (the rule "
        "above), no path and floor numbers over 2^64-1 (the schema)"
    ),
    (
        "srv_critical.py",
        "signed_precommand",
        "E31",
        "msg.signature is None or not any(gbcs.verify_signature(msg, k) for k in keys)",
        "drop `msg.signature is None`",
    ): "gbcs.verify_signature is False for a message without a signature",
    (
        "srv_critical.py",
        "signed_precommand",
        "E20",
        "row is None or row.chf is None",
        "drop `row is None`",
    ): (
        "the transform found the device commissioned on a CHF, and an SMI record is deleted "
        "only while Pending (8.4): between the transform and its signed pre-command the record "
        "may lose its CHF (tested), never vanish"
    ),
    ("gateway.py", "recorded", "E12", "except IntegrityError", "*"): (
        "the conditional counter UPDATE refuses a used RequestID (E12) before the insert "
        "that could break the unique key"
    ),
    ("duis_io.py", "DuisIO.accept", "E4", "except ValueError", "*"): (
        "every request the envelope parser would refuse is schema-invalid, and the schema is "
        "checked first (E19)"
    ),
}


def equivalent(m: Mutant) -> str | None:
    """Why `m` is listed in EQUIVALENT, or None."""
    k = m.rule.key
    return EQUIVALENT.get((*k, m.label)) or EQUIVALENT.get((*k, "*"))


@dataclass(frozen=True)
class Rule:
    path: Path  # relative to the tree it was found in
    line: int
    function: str
    code: str  # "E5", "W110401" (a warning list), or ANY
    what: str  # the warning list's name, or ""
    condition: str  # the condition's source text ("except X" for an except clause)
    span: tuple[int, int, int, int]  # what the "off" mutant replaces
    operands: tuple[tuple[int, int, int, int], ...]  # the `or` parts, if any
    kind: str  # "if" | "except"

    @property
    def where(self) -> str:
        return f"{self.path.as_posix()}:{self.line}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.path.name, self.function, self.code, self.condition)


@dataclass(frozen=True)
class Mutant:
    rule: Rule
    label: str  # "off", "drop `r.supplier != user`", "re-raise"
    span: tuple[int, int, int, int]
    text: str  # what replaces the span


# ------------------------------------------------------------------ finding the rules


def _codes_named(node: ast.AST) -> list[str]:
    return [
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "C"
        and REFUSAL.match(n.attr)
    ]


def _rejection(node: ast.Raise) -> ast.Call | None:
    """`raise Reject(...)` / `raise DuisRejected(...)`: the call, else None."""
    exc = node.exc
    if isinstance(exc, ast.Call) and isinstance(exc.func, ast.Name | ast.Attribute):
        name = exc.func.id if isinstance(exc.func, ast.Name) else exc.func.attr
        if name.endswith(("Reject", "Rejected")):
            return exc
    return None


def _list_appended(stmt: ast.stmt) -> str | None:
    """`lists["XList"].append(...)` -> "XList"."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    f = stmt.value.func
    if not (isinstance(f, ast.Attribute) and f.attr == "append"):
        return None
    sub = f.value
    if (
        isinstance(sub, ast.Subscript)
        and isinstance(sub.slice, ast.Constant)
        and isinstance(sub.slice.value, str)
        and LIST_KEY.match(sub.slice.value)
    ):
        return sub.slice.value
    return None


def _refusal(stmt: ast.stmt) -> tuple[str, str] | None:
    """(code, list name) when `stmt` refuses (see the module docstring), else None."""
    if isinstance(stmt, ast.Return | ast.Raise):
        value = stmt.value if isinstance(stmt, ast.Return) else stmt.exc
        if value is None:
            return None
        codes = _codes_named(value)
        if codes:
            return codes[0], ""
        call = _rejection(stmt) if isinstance(stmt, ast.Raise) else None
        if call is not None:
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Constant) and REFUSAL.match(str(first.value)):
                return str(first.value), ""
            return ANY, ""
        if (
            isinstance(stmt, ast.Return)
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "Handled"
            and value.args
            and isinstance(value.args[0], ast.Name)
        ):
            return ANY, ""  # `return Handled(refuse)`: a code chosen by the caller
        return None
    name = _list_appended(stmt)
    return ("W110401", name) if name else None


def _span(n: ast.AST) -> tuple[int, int, int, int]:
    end_line, end_col = getattr(n, "end_lineno", None), getattr(n, "end_col_offset", None)
    assert end_line is not None and end_col is not None
    return (n.lineno, n.col_offset, end_line, end_col)  # type: ignore[attr-defined]


class _Finder(ast.NodeVisitor):
    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source
        self.stack: list[str] = []
        self.rules: list[Rule] = []

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def _first_refusal(self, body: Sequence[ast.stmt]) -> tuple[str, str] | None:
        return next((f for f in map(_refusal, body) if f is not None), None)

    def _add(self, node: ast.AST, found: tuple[str, str], condition: str, **kw: object) -> None:
        self.rules.append(
            Rule(
                self.path,
                node.lineno,  # type: ignore[attr-defined]
                ".".join(self.stack) or "<module>",
                found[0],
                found[1],
                " ".join(condition.split()),
                **kw,  # type: ignore[arg-type]
            )
        )

    def visit_If(self, node: ast.If) -> None:
        found = self._first_refusal(node.body)
        if found is not None:
            test = node.test
            parts = (
                tuple(_span(v) for v in test.values)
                if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or)
                else ()
            )
            condition = ast.get_source_segment(self.source, test) or ""
            self._add(node, found, condition, span=_span(test), operands=parts, kind="if")
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        found = self._first_refusal(node.body)
        if found is not None:
            caught = ast.get_source_segment(self.source, node.type) if node.type else ""
            body = (*_span(node.body[0])[:2], *_span(node.body[-1])[2:])
            self._add(node, found, f"except {caught}", span=body, operands=(), kind="except")
        self.generic_visit(node)


def find_rules(root: Path = ROOT) -> list[Rule]:
    """Every refusal rule under src/althan/dsp of `root`, in file and line order."""
    rules: list[Rule] = []
    for f in sorted((root / "src" / "althan" / "dsp").glob("*.py")):
        source = f.read_text()
        finder = _Finder(f.relative_to(root), source)
        finder.visit(ast.parse(source))
        rules.extend(finder.rules)
    return rules


# ------------------------------------------------------------------ mutating a copy


def _segment(lines: list[bytes], span: tuple[int, int, int, int]) -> str:
    """Source text of a span (AST columns are UTF-8 byte offsets)."""
    l0, c0, l1, c1 = span
    if l0 == l1:
        return lines[l0 - 1][c0:c1].decode()
    return b"".join([lines[l0 - 1][c0:], *lines[l0 : l1 - 1], lines[l1 - 1][:c1]]).decode()


def mutants(rule: Rule, source: str) -> list[Mutant]:
    if rule.kind == "except":
        return [Mutant(rule, "re-raise", rule.span, "raise")]
    lines = source.encode().splitlines(keepends=True)
    out = [Mutant(rule, "off", rule.span, "(False)")]
    for i, part in enumerate(rule.operands):
        kept = " or ".join(f"({_segment(lines, p)})" for j, p in enumerate(rule.operands) if j != i)
        dropped = " ".join(_segment(lines, part).split())
        out.append(Mutant(rule, f"drop `{dropped}`", rule.span, f"({kept})"))
    return out


def apply(source: str, m: Mutant) -> str:
    """`source` with the mutant's span replaced (on one line: the lines after keep their
    numbers, so tracebacks point at the real source); it must still compile."""
    lines = source.encode().splitlines(keepends=True)
    l0, c0, l1, c1 = m.span
    text = " ".join(m.text.split()).encode()
    head = b"".join(lines[: l0 - 1]) + lines[l0 - 1][:c0]
    rest = lines[l1 - 1][c1:]
    blank = b"\n" * (l1 - l0)
    if rest.endswith(b"\n"):
        new = head + text + rest[:-1] + blank + b"\n" + b"".join(lines[l1:])
    else:
        new = head + text + rest + blank + b"".join(lines[l1:])
    result = new.decode()
    ast.parse(result)
    assert result.count("\n") == source.count("\n"), "line numbers moved"
    return result


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # "killed" | "SURVIVED" | "equivalent" | "ERROR" | "KILLED-BUT-LISTED"
    by: str  # the first failing test, the reason, or what went wrong
    seconds: float


def _pytest(args: Sequence[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    try:
        p = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    return p.returncode, p.stdout + p.stderr


def run_ledger(path: Path, workers: int) -> dict[str, list[str]]:
    """The whole suite on the real tree, its code ledger written to `path`. A test that fails
    there (a flaky or timed one) is left out of the ledger, so it cannot kill a mutant."""
    args = ["--code-ledger-json", str(path), "-rfE"]
    if workers > 1:
        args += ["-n", str(workers)]
    print(f"knockout: running the whole suite for the code ledger ({' '.join(args)})", flush=True)
    rc, out = _pytest(args, dict(os.environ), timeout=3600)
    if rc not in (0, 1) or not path.exists():
        sys.exit(f"knockout: the unmutated suite did not run (exit {rc}):\n{out[-3000:]}")
    ledger: dict[str, list[str]] = json.loads(path.read_text())
    failing = set(_failed(out))
    if rc == 1:
        print(
            f"knockout: WARNING: the unmutated suite failed {sorted(failing) or '(ledger)'}; "
            "those tests are left out",
            flush=True,
        )
        ledger = {c: [t for t in ts if t not in failing] for c, ts in ledger.items()}
        path.write_text(json.dumps(ledger, indent=1))
    return ledger


def tests_for(rule: Rule, ledger: dict[str, list[str]]) -> list[str]:
    """The tests that produced the rule's code (every refusal code for ANY), tests/rules first."""
    if rule.code == ANY:
        codes: Iterable[str] = (c for c in ledger if c.startswith("E"))
    else:
        codes = (rule.code,)
    ids = {t for c in codes for t in ledger.get(c, ()) if "::" in t}
    return sorted(ids, key=lambda t: (not t.startswith("tests/rules/"), t))


def _failed(out: str) -> list[str]:
    """The node IDs pytest's short summary names FAILED or ERROR."""
    return [
        m.group(2)
        for m in (re.match(r"^(FAILED|ERROR) (\S+)", line) for line in out.splitlines())
        if m
    ]


def _killer(out: str) -> str:
    return next(iter(_failed(out)), "?")


def run_mutant(
    m: Mutant, ledger: dict[str, list[str]], sources: dict[Path, str], timeout: float
) -> Outcome:
    t0 = time.monotonic()
    listed = equivalent(m)
    tests = tests_for(m.rule, ledger)
    if not tests:
        status = "equivalent" if listed else "SURVIVED"
        return Outcome(m, status, listed or f"no test produces {m.rule.code}", 0.0)
    with tempfile.TemporaryDirectory(prefix="althan-knockout-") as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__"))
        target = copy / m.rule.path.relative_to("src")
        target.write_text(apply(sources[m.rule.path], m))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(copy), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        probe = subprocess.run(
            [sys.executable, "-c", "import althan; print(althan.__file__)"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if not probe.stdout.strip().startswith(str(copy)):
            return Outcome(m, "ERROR", f"the copy is not imported: {probe.stdout}", 0.0)
        rc, out = _pytest(
            ["-x", "-q", "-o", "addopts=", "-rfE", "--no-header", *tests], env, timeout
        )
    dt = time.monotonic() - t0
    if rc == 0:
        return Outcome(m, "equivalent" if listed else "SURVIVED", listed or "", dt)
    if rc in (1, -1):
        by = _killer(out) if rc == 1 else "timeout"
        return Outcome(m, "KILLED-BUT-LISTED" if listed else "killed", by, dt)
    return Outcome(m, "ERROR", f"pytest exit {rc}: {out[-500:]}", dt)


def markdown(outcomes: Sequence[Outcome]) -> str:
    rows = [
        "| rule | where | code | mutant | result |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        r = o.mutant.rule
        rule = f"`{r.function}`: `{r.condition}`" + (f" → {r.what}" if r.what else "")
        result = {
            "killed": f"killed by `{o.by}`",
            "equivalent": f"equivalent: {o.by}",
        }.get(o.status, f"**{o.status}** {o.by}")
        code = "(any)" if r.code == ANY else r.code
        rows.append(f"| {rule} | {r.where} | {code} | {o.mutant.label} | {result} |")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the rules and mutants, run nothing")
    ap.add_argument(
        "--ledger",
        type=Path,
        help="the code ledger JSON: read if it exists, else written by the full run",
    )
    ap.add_argument("--only", default="", help="only rules whose path:function contains this")
    ap.add_argument("-n", "--workers", type=int, default=2, help="xdist workers of the ledger run")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="mutants run at the same time")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    ap.add_argument(
        "--docs",
        type=Path,
        help=f"put the result table in this file, between {BEGIN} and {END}",
    )
    args = ap.parse_args(argv)

    rules = [r for r in find_rules() if args.only in f"{r.path}:{r.function}"]
    sources = {r.path: (ROOT / r.path).read_text() for r in rules}
    all_mutants = [m for r in rules for m in mutants(r, sources[r.path])]
    for m in all_mutants:
        apply(sources[m.rule.path], m)  # every mutant compiles
    every = [m for r in find_rules() for m in mutants(r, (ROOT / r.path).read_text())]
    stale = (
        set(EQUIVALENT)
        - {(*m.rule.key, m.label) for m in every}
        - {(*m.rule.key, "*") for m in every}
    )
    if stale:
        print(f"knockout: EQUIVALENT names rules that no longer exist: {sorted(stale)}")
        return 1
    if args.list:
        for m in all_mutants:
            r = m.rule
            print(f"{r.where:32} {r.function:28} {r.code:8} {r.what or r.condition}  [{m.label}]")
        print(f"{len(rules)} rules, {len(all_mutants)} mutants")
        return 0

    with tempfile.TemporaryDirectory(prefix="althan-ledger-") as tmp:
        if args.ledger and args.ledger.exists():
            ledger = json.loads(args.ledger.read_text())
        else:
            ledger = run_ledger(args.ledger or Path(tmp) / "ledger.json", args.workers)
    print(f"knockout: {len(rules)} rules, {len(all_mutants)} mutants", flush=True)

    def one(m: Mutant) -> Outcome:
        o = run_mutant(m, ledger, sources, args.timeout)
        r = m.rule
        print(
            f"{o.status:12} {r.where:32} {r.code:8} {m.label[:40]:40} {o.by[:90]} "
            f"({o.seconds:.0f} s)",
            flush=True,
        )
        return o

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(one, all_mutants))
    if args.docs:
        text = args.docs.read_text()
        i, j = text.index(BEGIN) + len(BEGIN), text.index(END)
        args.docs.write_text(text[:i] + "\n" + markdown(outcomes) + text[j:])
    bad = [o for o in outcomes if o.status not in ("killed", "equivalent")]
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in {o.status for o in outcomes}}
    print(f"knockout: {counts}")
    for o in bad:
        print(f"  {o.status}: {o.mutant.rule.where} {o.mutant.rule.code} {o.mutant.label} {o.by}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
