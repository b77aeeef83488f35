"""`althan ssi users add|list|remove` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from althan.cli import app

PASSWORD = "a long enough password\n"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), input=stdin)
    return r.exit_code, r.stdout, r.stderr


def test_add_list_remove(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    code, out, _ = run(
        "ssi", "users", "add", "--login", "acme", "--role", "supplier",
        "--eui", "90-B3-D5-1F-30-01-00-00", "--password-stdin", "--data-dir", d, stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0 and "acme (supplier) for 90-B3-D5-1F-30-01-00-00 added" in out
    code, out, _ = run(
        "ssi", "users", "add", "--login", "alt", "--role", "althanco", "--password-stdin",
        "--data-dir", d, stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0 and "for 90-B3-D5-1F-30-0A-00-00" in out
    code, out, _ = run("ssi", "users", "list", "--json", "--data-dir", d)
    assert code == 0
    listed = json.loads(out.strip().splitlines()[-1])
    assert [(a["login"], a["role"], a["eui"]) for a in listed] == [
        ("acme", "supplier", "90-B3-D5-1F-30-01-00-00"),
        ("alt", "althanco", "90-B3-D5-1F-30-0A-00-00"),
    ]
    assert "password" not in out and "argon2" not in out
    code, out, _ = run("ssi", "users", "remove", "--login", "acme", "--data-dir", d)
    assert code == 0
    code, out, _ = run("ssi", "users", "list", "--json", "--data-dir", d)
    assert [a["login"] for a in json.loads(out.strip().splitlines()[-1])] == ["alt"]


def test_bad_input_is_refused(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    base = ("ssi", "users", "add", "--data-dir", d, "--password-stdin")
    cases = [
        ((*base, "--login", "x", "--role", "boss"), PASSWORD, 2, "--role 'boss'"),
        ((*base, "--login", "x", "--role", "supplier"), PASSWORD, 2, "belongs to one DUIS user"),
        ((*base, "--login", "x", "--role", "supplier", "--eui", "nope"), PASSWORD, 2, "--eui"),
        ((*base, "--login", "x", "--role", "supplier", "--eui", "00-11-22-33-44-55-66-77"),
         PASSWORD, 1, "is not a DUIS user"),
        ((*base, "--login", "x", "--role", "dcc"), "short\n", 2, "at least 10 characters"),
        ((*base, "--login", "<b>", "--role", "dcc"), PASSWORD, 2, "login '<b>'"),
        ((*base, "--login", "x", "--role", "dcc"), "", 2, "no password"),
    ]  # fmt: skip
    for args, stdin, want, message in cases:
        code, _out, err = run(*args, stdin=stdin)
        assert code == want and message in err, (args, code, err)
    code, _out, err = run("ssi", "users", "add", "--login", "x", "--role", "dcc", "--data-dir", d)
    assert code == 2 and "--password-stdin" in err
    assert run(*base, "--login", "ops", "--role", "dcc", stdin=PASSWORD)[0] == 0
    code, _out, err = run(*base, "--login", "ops", "--role", "dcc", stdin=PASSWORD)
    assert code == 1 and "taken" in err
    code, _out, err = run("ssi", "users", "remove", "--login", "ghost", "--data-dir", d)
    assert code == 1 and "no SSI account 'ghost'" in err
    code, _out, err = run("ssi", "users", "list", "--data-dir", str(tmp_path / "none"))
    assert code == 2 and "no althan store" in err
