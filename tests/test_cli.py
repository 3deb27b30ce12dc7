"""The ``parley`` CLI: the whole story in separate processes, and its error handling."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from parley.client import cli
from parley.client.story import run_story


def test_story_end_to_end_in_separate_processes(tmp_path):
    """Two accounts, three installations, the mailbox, a QR PNG, fan-out, an
    offline installation, a no-bundle first message, a restore and a reset."""
    story = run_story(tmp_path, echo=False)
    text = "\n".join(story.transcript)

    def after(marker: str) -> str:
        return text[text.index(marker) :]

    # contact from a QR image whose bundle had gone stale: identity only
    assert "the first message will NOT be forward secret" in after("parley add alice-old.png")
    # the linked installation announced itself
    assert (
        "+ new installation" in after("[alice1]$ parley inbox").split("[alice1]$ parley devices")[0]
    )
    assert after("[alice1]$ parley devices list").count("this installation") == 1
    # no-bundle first message, marked
    assert "bob: Hi Alice, it's Bob.  [NOT forward secret]" in text
    # fan-out: Alice's reply goes to Bob and to her other installation
    assert "sent to bob (2 installations)" in after("parley send bob 'Hi Bob!")
    assert "alice: Hi Bob! Forward secret from here on." in text
    assert "[NOT forward secret]" not in after("alice: Hi Bob!").split("\n")[0]
    # the offline installation catches up on all three
    catch_up = after("[alice2]$ parley inbox").split("== 5")[0]
    assert "bob: Hi Alice, it's Bob.  [NOT forward secret]" in catch_up
    assert "you -> bob: Hi Bob! Forward secret from here on." in catch_up
    assert "bob: Both of your devices get this one." in catch_up
    # restore: cannot decrypt, resets, recovers
    assert "NO_SESSION; started a new session (reset)" in text
    assert "~ bob (" in text and "started a new session" in text
    assert "alice: Welcome back." in after("parley send bob 'Welcome back.'")
    assert "Traceback" not in text


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PARLEY_MAILBOX", str(tmp_path / "mailbox"))
    monkeypatch.setenv("PARLEY_PASSPHRASE", "test passphrase")
    monkeypatch.setenv("PARLEY_NOW", "1767225600")
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("parley: error: ")
    return lines[0]


def test_help_lists_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("init", "code", "add", "send", "inbox", "listen", "devices", "export-bundle"):
        assert command in out


def test_commands_and_bad_input(env, capsys):
    assert run(capsys, "send", "bob", "hi")[0] == 1  # no account yet
    code, out, err = run(capsys, "init")
    assert code == 0 and "account" in out
    assert "ACCOUNT_EXISTS" in one_line_error(run(capsys, "init")[2])
    # bad codes, one readable line each
    for bad in ("parley1:notbase32!!", "parley1:aaaa", "hello"):
        code, _, err = run(capsys, "add", bad, "--name", "x")
        assert code == 1
        one_line_error(err)
    (env / "junk.png").write_bytes(b"\x89PNG junk")
    code, _, err = run(capsys, "add", str(env / "junk.png"))
    assert code == 1 and "QR_UNREADABLE" in one_line_error(err)
    assert "UNKNOWN_CONTACT" in one_line_error(run(capsys, "send", "nobody", "hi")[2])
    # usage errors: exit 2, one line
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and len(err.strip().splitlines()) == 1
    # code: text, terminal QR, PNG; export-bundle
    code, out, _ = run(capsys, "code")
    assert code == 0 and out.strip().startswith("parley1:")
    code, out, _ = run(capsys, "code", "--qr", "--png", str(env / "me.png"))
    assert code == 0 and "\u2584" in out and (env / "me.png").exists()
    code, out, _ = run(capsys, "export-bundle", "--out", str(env / "b.bin"))
    assert code == 0 and (env / "b.bin").stat().st_size > 100
    code, out, _ = run(capsys, "devices", "list")
    assert code == 0 and "this installation" in out
    assert run(capsys, "devices", "add")[0] == 1  # needs --out
    code, out, _ = run(capsys, "listen", "--timeout", "0.2")
    assert code == 0 and out.startswith("listening")
    code, out, _ = run(capsys, "inbox")
    assert code == 0 and "no new messages" in out


def test_wrong_passphrase_is_one_line(env, capsys, monkeypatch):
    assert run(capsys, "init")[0] == 0
    monkeypatch.setenv("PARLEY_PASSPHRASE", "wrong")
    code, _, err = run(capsys, "inbox")
    assert code == 1 and "STORE_WRONG_PASSPHRASE" in one_line_error(err)


def test_no_passphrase_without_terminal(env, capsys, monkeypatch):
    monkeypatch.delenv("PARLEY_PASSPHRASE")
    monkeypatch.setattr(sys, "stdin", open(Path(__file__)))  # not a tty  # noqa: SIM115
    code, _, err = run(capsys, "init")
    assert code == 1 and "PARLEY_PASSPHRASE" in one_line_error(err)


def test_console_script_errors_without_traceback(env):
    result = subprocess.run(
        [sys.executable, "-m", "parley.client.cli", "add", "parley1:zzzz"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.requirement("STORE-005")
def test_send_reports_its_own_envelope_when_an_older_one_is_stuck(env, capsys, monkeypatch):
    """An older envelope to an unreachable contact makes flush_outbox raise; the
    message just sent to another contact went out, and send says so."""
    inboxes = env / "mailbox" / "inbox"
    codes = {}
    for name in ("alice", "bob", "mallory"):
        monkeypatch.setenv("PARLEY_HOME", str(env / name))
        before = set(inboxes.iterdir()) if inboxes.exists() else set()
        assert run(capsys, "init")[0] == 0
        codes[name] = run(capsys, "code")[1].strip()
        if name == "mallory":
            [mallory_inbox] = set(inboxes.iterdir()) - before
    monkeypatch.setenv("PARLEY_HOME", str(env / "alice"))
    for name in ("bob", "mallory"):
        assert run(capsys, "add", codes[name], "--name", name)[0] == 0
    shutil.rmtree(mallory_inbox)
    mallory_inbox.write_bytes(b"")  # every put to Mallory fails
    code, _, err = run(capsys, "send", "mallory", "stuck")
    assert code == 1 and "kept in the outbox" in one_line_error(err)
    code, out, err = run(capsys, "send", "bob", "hi")
    assert code == 0, err
    assert out.strip() == "sent to bob (1 installation)"
    assert "older messages wait in the outbox" in err
