"""The CLI a person expects, each command in its own process: --version, help
and defaults, whoami, verify (safety numbers, QR, --mark-verified), contacts
rename/remove/block, a known contact's code, --json (JSON Lines), the
forward-secrecy warning of send, and one typed line for any bad input."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from parley.client import Account, MailboxTransport
from parley.client import cli as cli_module
from parley.keys import IdentityKey, IdentityKeyPair
from parley.primitives import DHKeyPair, SystemRandom
from parley.safety_number import safety_number

PASS = "cli test passphrase"
DAY = 24 * 60 * 60


class Parley:
    """``parley`` in a fresh process, with one shared mailbox."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mailbox = root / "mailbox"

    def env(self, **extra: str | bytes) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        env.update({"PARLEY_PASSPHRASE": PASS, "PARLEY_MAILBOX": str(self.mailbox)})
        env.update(extra)
        return env

    def run(
        self, home: str, *args: str | bytes, input: bytes | None = None, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "parley.client.cli", "--home", str(self.root / home), *args],
            input=input,
            capture_output=True,
            env=env or self.env(),
            timeout=120,
            check=False,
        )

    def ok(self, home: str, *args: str, **kw) -> str:
        result = self.run(home, *args, **kw)
        assert result.returncode == 0, result.stderr.decode()
        assert b"Traceback" not in result.stderr
        return result.stdout.decode()

    def json(self, home: str, *args: str, **kw) -> list[dict]:
        lines = self.ok(home, "--json", *args, **kw).splitlines()
        return [json.loads(line) for line in lines]  # one JSON object per line, every line


def one_error_line(result: subprocess.CompletedProcess, code: str | None = None) -> str:
    err = result.stderr.decode(errors="replace")
    assert result.returncode in (1, 2), (result.returncode, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "INTERNAL_ERROR" not in lines[0], lines[0]
    if code is not None:
        assert f"[{code}]" in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def parley(tmp_path) -> Parley:
    return Parley(tmp_path)


@pytest.fixture
def pair(parley) -> Parley:
    """alice and bob, each with the other as a contact."""
    parley.ok("alice", "init")
    parley.ok("bob", "init")
    parley.ok("alice", "add", parley.ok("bob", "code").strip(), "--name", "bob")
    parley.ok("bob", "add", parley.ok("alice", "code").strip(), "--name", "alice")
    return parley


# -- --version, help ---------------------------------------------------------------------


def test_version_in_a_process(parley):
    out = parley.ok("x", "--version")
    assert out.startswith("parley 0.1.0 (protocol version 1, profile 1)")


def _every_action():
    parser = cli_module.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    yield "parley", parser
    for name, sub in subparsers.choices.items():
        yield f"parley {name}", sub


def test_every_option_of_every_command_has_help_and_a_default():
    """Fails on any option (or argument) without help, and on any option that
    takes a value without saying its default (or that it is required)."""
    missing = []
    for where, parser in _every_action():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{where} {name}: no help")
                continue
            takes_value = action.option_strings and action.nargs != 0
            if takes_value and "default" not in action.help and "required" not in action.help:
                missing.append(f"{where} {name}: help does not show the default")
    assert missing == []


def test_help_of_each_command_in_a_process(parley):
    for command in ("contacts", "verify", "listen", "history", "backup", "code"):
        out = parley.ok("x", command, "--help")
        assert "default" in out, command
    assert "rename" in parley.ok("x", "contacts", "--help")


# -- whoami, add, contacts -----------------------------------------------------------------


def test_whoami_text_and_json(parley):
    parley.ok("alice", "init")
    text = parley.ok("alice", "whoami")
    (me,) = parley.json("alice", "whoami")
    assert me["type"] == "account" and len(me["fingerprint"]) == 64
    assert me["fingerprint"] in text and me["installation"] in text
    assert me["contact_code"].startswith("parley1:") and me["contact_code"] in text
    assert me["contacts"] == 0 and me["installations"] == 1


def test_add_of_a_known_contact_changes_nothing_unless_asked(pair):
    code = pair.ok("bob", "code").strip()
    out = pair.ok("alice", "add", code, "--name", "robert")
    assert "already a contact" in out and "--rename" in out
    (bob,) = pair.json("alice", "contacts")
    assert bob["name"] == "bob"
    (known,) = pair.json("alice", "add", code)
    assert known["type"] == "contact_known" and known["changed"] is False
    pair.ok("alice", "add", code, "--name", "robert", "--rename")
    (bob,) = pair.json("alice", "contacts")
    assert bob["name"] == "robert"
    assert "UNKNOWN_CONTACT" in one_error_line(pair.run("alice", "send", "bob", "hi"))


def test_contacts_rename_remove_block_in_processes(pair):
    pair.ok("alice", "contacts", "rename", "bob", "Bobby")
    (bob,) = pair.json("alice", "contacts", "list")
    assert bob["name"] == "Bobby" and bob["blocked"] is False
    # an unnamed contact shows its fingerprint once (not twice)
    pair.ok("carol", "init")
    pair.ok("alice", "add", pair.ok("carol", "code").strip())
    carol = pair.json("carol", "whoami")[0]["fingerprint"]
    line = next(ln for ln in pair.ok("alice", "contacts").splitlines() if carol[:16] in ln)
    assert line.count(carol[:16]) == 1
    # a name another contact has: its own code, and nothing changes
    taken = one_error_line(pair.run("alice", "contacts", "rename", carol[:16], "Bobby"))
    assert "[CONTACT_NAME_TAKEN]" in taken
    assert sorted(c["name"] or "-" for c in pair.json("alice", "contacts")) == ["-", "Bobby"]
    # block: bob's messages are dropped with a typed event, and nothing is stored
    pair.ok("alice", "contacts", "block", "Bobby")
    assert pair.json("alice", "contacts")[0]["blocked"] is True
    pair.ok("bob", "send", "alice", "let me in")
    events = pair.json("alice", "inbox")
    assert [e["type"] for e in events if e["type"].startswith("message")] == ["message_blocked"]
    assert pair.json("alice", "history") == []
    assert "CANNOT_SEND" in one_error_line(pair.run("alice", "send", "Bobby", "hi"))
    # unblock: messages flow again
    pair.ok("alice", "contacts", "unblock", "Bobby")
    pair.ok("bob", "send", "alice", "again")
    received = [e for e in pair.json("alice", "inbox") if e["type"] == "message_received"]
    assert [e["text"] for e in received] == ["again"]
    # remove: gone from the list, with its messages
    assert [m["text"] for m in pair.json("alice", "history")] == ["again"]
    (removed,) = pair.json("alice", "contacts", "remove", "Bobby")
    assert removed["type"] == "contact_removed"
    assert all(c["name"] != "Bobby" for c in pair.json("alice", "contacts"))
    assert pair.json("alice", "history") == []
    # usage errors are one line each
    for args in (("rename", "carol"), ("block",), ("remove", "nobody"), ("list", "x")):
        one_error_line(pair.run("alice", "contacts", *args))


# -- verify ----------------------------------------------------------------------------------


def test_verify_both_sides_see_the_same_number_and_the_mark_is_stored(pair, tmp_path):
    (a,) = pair.json("alice", "verify", "bob")
    (b,) = pair.json("bob", "verify", "alice")
    assert a["safety_number"] == b["safety_number"] and len(a["safety_number"]) == 60
    assert a["verified"] is False
    text = pair.ok("alice", "verify", "bob", "--qr")
    groups = " ".join(a["safety_number"][i : i + 5] for i in range(0, 20, 5))
    assert groups in text and "\u2584" in text and "--mark-verified" in text
    # the number is the spec's, from the two identities
    alice = Account.open(tmp_path / "alice" / "parley.db", PASS)
    with alice:
        bob = alice.contact("bob")
        assert a["safety_number"] == safety_number(alice.identity, bob.identity)
    # the QR holds the 60 digits
    import zxingcpp
    from PIL import Image

    png = tmp_path / "sn.png"
    pair.ok("alice", "verify", "bob", "--png", str(png))
    (found,) = zxingcpp.read_barcodes(Image.open(png).convert("L"))
    assert found.text == a["safety_number"]
    # --mark-verified is stored: a new process sees it
    assert "marked verified" in pair.ok("alice", "verify", "bob", "--mark-verified")
    assert pair.json("alice", "contacts")[0]["verified"] is True
    assert "[verified]" in pair.ok("alice", "contacts")
    pair.ok("alice", "verify", "bob", "--unmark")
    assert pair.json("alice", "contacts")[0]["verified"] is False
    one_error_line(pair.run("alice", "verify", "nobody"), "UNKNOWN_CONTACT")


@pytest.mark.requirement("KEYS-008")
def test_identity_change_clears_the_verified_mark_and_tells_the_user(pair, tmp_path):
    pair.ok("alice", "verify", "bob", "--mark-verified")
    # Bob's signing key binds a new X25519 key: a valid identity, not the stored one.
    bob = Account.open(tmp_path / "bob" / "parley.db", PASS)
    with bob:
        signing = bob._identity.signing
    dh = DHKeyPair.generate(SystemRandom())
    new = IdentityKeyPair(signing, dh, signing.sign(IdentityKey.binding_message(dh.public)))
    bob2 = Account.create(tmp_path / "bob2.db", PASS, identity=new, kdf_iterations=1000)
    with bob2:
        mailbox = MailboxTransport(pair.mailbox)
        mailbox.register(bob2.account_id, bob2.installation_id)
        alice_code = pair.ok("alice", "code").strip()
        contact, _ = bob2.add_contact(alice_code, "alice")
        mailbox.deliver(bob2.send(contact, b"it's me, honest"), account=contact.account)
    events = pair.json("alice", "inbox")
    changed = [e for e in events if e["type"] == "identity_changed"]
    assert len(changed) == 1  # once per envelope, though its bundle and message both show it
    assert changed[0]["account"] == signing.public.hex()
    assert changed[0]["was_verified"] is True
    assert not any(e["type"] == "message_received" for e in events)  # still refused
    (bob_row,) = pair.json("alice", "contacts")
    assert bob_row["verified"] is False
    # and in text, for people
    pair.ok("alice", "verify", "bob", "--mark-verified")
    with Account.open(tmp_path / "bob2.db", PASS, kdf_iterations=1000) as bob2:
        mailbox.deliver(bob2.send(bob2.contact("alice"), b"again"), account=contact.account)
    assert "CHANGED; it is no longer marked verified" in pair.ok("alice", "inbox")
    # the new code is refused until the user removes the old identity, then it is a new contact
    with Account.open(tmp_path / "bob2.db", PASS, kdf_iterations=1000) as bob2:
        new_code = bob2.contact_code()
    line = one_error_line(pair.run("alice", "add", new_code, "--name", "bob"))
    assert "differs from the stored one" in line and "remove" in line
    pair.ok("alice", "contacts", "remove", "bob")
    pair.ok("alice", "add", new_code, "--name", "bob")
    (bob_row,) = pair.json("alice", "contacts")
    assert bob_row["verified"] is False
    (number,) = pair.json("alice", "verify", "bob")
    assert number["safety_number"] == safety_number(
        Account.open(tmp_path / "alice" / "parley.db", PASS).identity, new.public
    )


# -- --json on every command that prints data --------------------------------------------------


def test_json_lines_for_every_data_command(pair, tmp_path):
    (me,) = pair.json("alice", "whoami")
    assert pair.json("alice", "code")[0]["code"] == me["contact_code"]
    (sent,) = pair.json("alice", "send", "bob", "one")
    assert sent["type"] == "sent" and sent["forward_secret"] is True
    pair.ok("alice", "send", "bob", "two")
    stream = pair.json("bob", "listen", "--count", "2", "--timeout", "30", "--interval", "0.05")
    texts = [e["text"] for e in stream if e["type"] == "message_received"]
    assert texts == ["one", "two"]
    assert all(e["sender"] == me["fingerprint"] for e in stream if "sender" in e)
    history = pair.json("bob", "history", "alice", "--limit", "1")
    assert [(h["direction"], h["text"]) for h in history] == [("in", "two")]
    (device,) = pair.json("alice", "devices", "list")
    assert device["current"] is True and device["installation"] == me["installation"]
    (bundle,) = pair.json("alice", "export-bundle")
    assert bundle["contact_code"].startswith("parley1:")
    (backup,) = pair.json("alice", "backup", "--out", str(tmp_path / "b.bak"))
    assert backup["type"] == "backup"
    # --json before or after the command; errors as one JSON object on stderr
    result = pair.run("alice", "send", "nobody", "x", "--json")
    error = json.loads(one_error_line(result))
    assert error == {"type": "error", "code": "UNKNOWN_CONTACT", "message": error["message"]}


# -- send: forward secrecy ------------------------------------------------------------------------


def test_send_warns_when_not_forward_secret(parley):
    parley.ok("alice", "init")
    parley.ok("bob", "init")
    code = parley.ok("bob", "code").strip()
    later = parley.env(PARLEY_NOW=str(int(__import__("time").time()) + 40 * DAY))
    parley.ok("alice", "add", code, "--name", "bob", env=later)  # its bundle is stale by then
    result = parley.run("alice", "--json", "send", "bob", "hello", env=later)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["forward_secret"] is False
    assert b"NOT forward secret" in result.stderr
    result = parley.run("alice", "send", "bob", "hello", env=later)
    assert b"warning: this message to bob is NOT forward secret" in result.stderr


# -- bad input: one typed line, never a traceback ---------------------------------------


def test_bad_input_gives_one_typed_line(pair, tmp_path):
    cases = [
        (("send", "bob", b"caf\xe9"), None, "USAGE"),  # a message that is not UTF-8
        (("send", "bob", "-"), b"\xff\xfe bad", "USAGE"),  # stdin that is not UTF-8
        (("add", pair.ok("bob", "code").strip(), "--name", b"\xff"), None, "USAGE"),
        (("code", "--scale", "0"), None, None),
        (("code", "--scale", "-3"), None, None),
        (("listen", "--interval", "-1"), None, None),
        (("listen", "--interval", "nan"), None, None),
        (("listen", "--interval", "inf"), None, None),
        (("listen", "--timeout", "0"), None, None),
        (("history", "--limit", "99999999999999999999999"), None, None),
        (("serve", "--interval", "-1"), None, None),
    ]
    for args, stdin, code in cases:
        result = pair.run("alice", *args, input=stdin)
        one_error_line(result, code)
    # a passphrase that is not UTF-8
    env = {**pair.env(), "PARLEY_PASSPHRASE": b"\xff\xfe"}
    env = {k.encode() if isinstance(k, str) else k: v.encode() if isinstance(v, str) else v
           for k, v in env.items()}  # fmt: skip
    one_error_line(pair.run("alice", "contacts", env=env), "USAGE")


def test_broken_config_json_gives_one_typed_line(parley, tmp_path):
    parley.ok("alice", "init")
    env = {k: v for k, v in parley.env().items() if k != "PARLEY_MAILBOX"}
    config = tmp_path / "alice" / "config.json"
    for text in ('{"mailbox": 5}', "[]", '["x"]', '{"mailbox": ["a"]}', "{", '"just text"'):
        config.write_text(text)
        assert "config.json" in one_error_line(parley.run("alice", "inbox", env=env), "USAGE")
    config.write_bytes(b'{"mailbox": "\xff"}')
    one_error_line(parley.run("alice", "inbox", env=env), "USAGE")


def test_a_peer_cannot_send_terminal_control_sequences(pair):
    pair.ok("bob", "send", "alice", "hi\x1b[2J\nalice: fake line\r")
    out = pair.ok("alice", "inbox")
    assert "\x1b" not in out and "\r" not in out
    assert "bob: hi\\x1b[2J\\nalice: fake line\\r" in out
    assert pair.json("alice", "history")[0]["text"] == "hi\x1b[2J\nalice: fake line\r"


def test_a_running_listen_shares_its_home_with_reading_commands_only(pair, tmp_path):
    """The home lock: while `listen` runs, block (a change) is refused in one typed
    line; contacts, verify and whoami (reading) still work; after it, block works."""
    import time

    out = (tmp_path / "listen.out").open("w")
    listen = subprocess.Popen(
        [sys.executable, "-m", "parley.client.cli", "--home", str(tmp_path / "alice"), "--json",
         "listen", "--interval", "0.05", "--timeout", "60"],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=pair.env(),
    )  # fmt: skip
    try:
        lock = tmp_path / "alice" / "parley.lock"
        deadline = time.monotonic() + 30
        while not (lock.exists() and str(listen.pid) in lock.read_text()):
            assert time.monotonic() < deadline and listen.poll() is None, "listen did not start"
            time.sleep(0.05)
        line = one_error_line(pair.run("alice", "contacts", "block", "bob"), "HOME_IN_USE")
        assert f"pid {listen.pid}" in line
        assert pair.json("alice", "contacts")[0]["blocked"] is False
        assert len(pair.json("alice", "verify", "bob")[0]["safety_number"]) == 60
        assert pair.json("alice", "whoami")[0]["type"] == "account"
    finally:
        listen.terminate()
        listen.wait(timeout=30)
        out.close()
    pair.ok("alice", "contacts", "block", "bob")
    assert pair.json("alice", "contacts")[0]["blocked"] is True
