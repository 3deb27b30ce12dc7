"""Attacks on the mailbox folder by whoever can write to it (it holds nothing
secret, so it may be shared): an inbox entry that is not a regular file
must not stop the reader. Before, fetch opened every '*.env' name with a
plain open(): a FIFO planted there blocked `parley inbox`, `listen` and
`serve`'s poll forever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REFERENCE = Path(__file__).parents[1] / "reference"

FETCH = """
import sys
from parley.client import MailboxTransport
box = MailboxTransport(sys.argv[1])
print(len(box.fetch(bytes.fromhex(sys.argv[2]))))
"""


def test_a_fifo_a_link_or_a_folder_planted_in_an_inbox_does_not_stop_fetch(tmp_path):
    from parley.client import MailboxTransport

    iid = bytes(range(16))
    box = MailboxTransport(tmp_path / "mailbox")
    box.put(iid, b"an envelope")
    inbox = tmp_path / "mailbox" / "inbox" / iid.hex()
    os.mkfifo(inbox / "00000000000000000000-000000000000.env")
    os.symlink("/dev/zero", inbox / "00000000000000000001-000000000000.env")
    (inbox / "00000000000000000002-000000000000.env").mkdir()
    env = {**os.environ, "PYTHONPATH": str(REFERENCE)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", FETCH, str(tmp_path / "mailbox"), iid.hex()],
            capture_output=True,
            text=True,
            timeout=8,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("fetch still blocked after 8 s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # the real envelope; the others skipped
