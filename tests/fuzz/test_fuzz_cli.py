"""Fuzz the ``parley`` command line: any arguments, environment and stdin give
a result or one typed error line (exit 1, or 2 for usage), never a traceback
and never INTERNAL_ERROR (the catch-all that hides a fault).

An input is the argument list as the process would get it: the arguments'
bytes joined with NUL (decoded like ``sys.argv``, so bytes that are not UTF-8
arrive as lone surrogates). The runs share one home with an account and two
contacts; files the commands write go to the target's work folder.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys

import pytest
from fuzzing import fuzz, target, workdir
from hypothesis import strategies as st
from parley.client import Account, cli

NAME = "cli"
PASS = "fuzz passphrase"
_COMMANDS = [
    "init", "whoami", "code", "add", "contacts", "verify", "send", "inbox", "listen",
    "history", "devices", "backup", "restore", "export-bundle", "serve", "frobnicate",
]  # fmt: skip
_OPTIONS = [
    "--json", "--qr", "--png", "--svg", "--text", "--scale", "--name", "--rename", "--limit",
    "--interval", "--timeout", "--count", "--out", "--code", "--mark-verified", "--unmark",
    "-v", "-q", "--verbose", "--help", "--version", "--", "-",
]  # fmt: skip
_WORDS = [
    "bob", "carol", "list", "rename", "remove", "block", "unblock", "add", "link", "0", "-1",
    "nan", "inf", "1e400", "99999999999999999999999", "0x10", "3.5", "", " ", "parley1:",
    "parley1:aaaa", "out.png", "out.svg", "link.bin", "backup.bin", "missing.png",
]  # fmt: skip
# Bytes that are not UTF-8, control characters, a NUL-free path-free alphabet.
_TEXT = st.one_of(
    # text as the terminal would send it (lone surrogates come from the bytes below)
    st.text(
        st.characters(blacklist_characters="\x00/", blacklist_categories=("Cs",)), max_size=12
    ).map(os.fsencode),
    st.binary(max_size=8).filter(lambda b: b"\x00" not in b and b"/" not in b),
)


@functools.cache
def _home() -> dict[str, str]:
    """One account with contacts bob and carol, on a fast store."""
    root = workdir(NAME)
    accounts = {n: Account.create(root / n / "parley.db", PASS, kdf_iterations=2) for n in
                ("alice", "bob", "carol")}  # fmt: skip
    alice = accounts["alice"]
    alice.add_contact(accounts["bob"].contact_code(), "bob")
    alice.add_contact(accounts["carol"].contact_code(), "carol")
    code = accounts["bob"].contact_code()
    for account in accounts.values():
        account.close()
    (root / "bob.code").write_text(code)
    return {"PARLEY_HOME": str(root / "alice"), "PARLEY_MAILBOX": str(root / "mailbox")}


@st.composite
def argv(draw: st.DrawFn) -> bytes:
    words: list[bytes] = []
    if draw(st.booleans()):
        words.append(b"--json")
    words.append(draw(st.sampled_from(_COMMANDS)).encode())
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            words.append(draw(st.sampled_from(_OPTIONS)).encode())
        elif kind == 1:
            words.append(draw(st.sampled_from(_WORDS)).encode())
        else:
            words.append(draw(_TEXT))
    if words[-1] in (b"listen", b"serve") or b"listen" in words or b"serve" in words:
        # bounded: a listen stops at once; serve never starts (its interval is refused)
        words += [b"--interval", b"0.01", b"--timeout", b"0.05"]
        if b"serve" in words:
            words += [b"--interval", b"-1"]
    return b"\x00".join(words)


class _Stdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def check(data: bytes) -> None:
    args = [os.fsdecode(a) for a in data.split(b"\x00")]
    out, err = io.StringIO(), io.StringIO()
    env = {"PARLEY_PASSPHRASE": PASS, **_home()}
    saved = {k: os.environ.get(k) for k in (*env, "PARLEY_NOW", "PARLEY_DEBUG")}
    stdin = _Stdin(io.BytesIO(b"from stdin \xff\n"), encoding="utf-8")
    old_cwd, old_stdin, old_open = os.getcwd(), sys.stdin, Account.open
    os.environ.update(env)
    for k in ("PARLEY_NOW", "PARLEY_DEBUG"):
        os.environ.pop(k, None)
    Account.open = functools.partial(old_open, kdf_iterations=2)  # the store's KDF, made cheap
    os.chdir(workdir(NAME))
    sys.stdin = stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(args)
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code
    finally:
        sys.stdin, Account.open = old_stdin, old_open
        os.chdir(old_cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    lines = err.getvalue().strip().splitlines()
    assert "Traceback" not in err.getvalue()
    assert not any("INTERNAL_ERROR" in line for line in lines), lines
    assert code in (0, 1, 2), (code, lines)
    if code != 0:
        assert len(lines) == 1, lines  # one line that says what is wrong


@pytest.mark.parametrize("path", target(NAME).corpus(), ids=lambda p: p.name)
def test_corpus(path):
    check(path.read_bytes())


@pytest.mark.fuzz
def test_fuzz():
    fuzz(NAME, argv(), check)
