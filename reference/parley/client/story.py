"""The library's story, told with the ``parley`` CLI in separate processes.

Two accounts (Alice, Bob), three installations (Alice's two, Bob's one)
and a mailbox folder, on one machine, with no server:

1. Alice prints her contact code as a QR image; a month passes, so the
   bundle in it is too old: Bob adds her from the image and can only send a
   no-bundle message (not forward secret).
2. Alice links a second installation; Bob's message reaches both.
3. Alice adds Bob from his QR image and replies: a forward-secret session
   starts, and the message fans out to Bob and to Alice's other installation.
4. Alice's second installation, offline all along, catches up.
5. Bob loses his device and restores his account from a backup on a new
   one: it cannot decrypt Alice's next message, and the reset flow
   (SESSION-020) repairs the session.

Run: ``python -m parley.client.story`` (``make demo-library``). The clock is
fixed with PARLEY_NOW, so the story is the same on every run but for keys.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
MONTH = 31 * 24 * 60 * 60


class Story:
    """Runs ``parley`` commands as separate processes and keeps a transcript."""

    def __init__(self, root: Path, echo: bool = True) -> None:
        self.root = root
        self.echo = echo
        self.transcript: list[str] = []
        self.now = T0
        self.mailbox = root / "mailbox"

    def say(self, text: str) -> None:
        self.transcript.append(text)
        if self.echo:
            print(text, flush=True)

    def parley(self, who: str, *args: str, passphrase: str | None = None, check: bool = True):
        home = self.root / who
        env = dict(os.environ)
        env.update(
            PARLEY_HOME=str(home),
            PARLEY_MAILBOX=str(self.mailbox),
            PARLEY_PASSPHRASE=passphrase or f"{who.rstrip('0123456789')} passphrase",
            PARLEY_NOW=str(self.now),
        )
        shown = " ".join(shlex.quote(a) for a in args)
        self.say(f"[{who}]$ parley {shown}")
        result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "parley.client.cli", *args],
            env=env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for line in (result.stdout + result.stderr).splitlines():
            self.say(f"    {line}")
        if check and result.returncode != 0:
            raise RuntimeError(f"parley {shown} failed with exit code {result.returncode}")
        return result


def run_story(root: Path, echo: bool = True) -> Story:
    s = Story(root, echo)
    s.say("== 1. Alice starts; her QR code is printed, then a month passes")
    s.parley("alice1", "init")
    s.parley("alice1", "code", "--png", "alice-old.png")
    s.now = T0 + MONTH
    s.parley("bob", "init")
    s.say("-- Bob adds Alice from the old QR image: her bundle is stale, her identity is not")
    s.parley("bob", "add", "alice-old.png", "--name", "alice")

    s.say("\n== 2. Alice links a second installation (the link file must travel safely)")
    s.parley("alice1", "devices", "add", "--out", "alice-link.bin")
    s.parley("alice2", "devices", "link", "alice-link.bin")
    (root / "alice-link.bin").unlink()
    s.parley("alice1", "inbox")
    s.parley("alice1", "devices", "list")

    s.say("\n== 3. Bob writes without a bundle: not forward secret, and it carries his bundle")
    s.parley("bob", "send", "alice", "Hi Alice, it's Bob.")
    s.parley("bob", "code", "--png", "bob.png")
    s.parley("alice1", "add", "bob.png", "--name", "bob")
    s.parley("alice1", "inbox")
    s.say("-- Alice replies: X3DH from Bob's bundle; one copy for Bob, one for her other device")
    s.parley("alice1", "send", "bob", "Hi Bob! Forward secret from here on.")
    s.parley("bob", "inbox")
    s.parley("bob", "send", "alice", "Both of your devices get this one.")
    s.parley("alice1", "inbox")

    s.say("\n== 4. Alice's second installation was offline all along: it catches up")
    s.parley("alice2", "add", "bob.png", "--name", "bob")
    s.parley("alice2", "inbox")

    s.say("\n== 5. Bob loses his device and restores a backup on a new one")
    s.parley("bob", "backup", "--out", "bob.backup")
    shutil.rmtree(root / "bob")
    s.parley("bob", "restore", "bob.backup")
    s.parley("alice1", "send", "bob", "Are you there?")
    s.say("-- the restored installation has no session: it reports why and resets")
    s.parley("bob", "inbox")
    s.parley("alice1", "inbox")
    s.parley("alice1", "send", "bob", "Welcome back.")
    s.parley("bob", "inbox")
    s.parley("bob", "history")
    s.say("\ndone: no server, three installations, one reset")
    return s


def main() -> int:
    keep = os.environ.get("PARLEY_STORY_DIR")
    if keep:
        root = Path(keep)
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        run_story(root)
        return 0
    with tempfile.TemporaryDirectory(prefix="parley-story-") as tmp:
        run_story(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
