"""Child process of tests/test_store.py's crash test (not a test module).

Usage: python crash_worker.py DIR N TAG [PHASE]

Opens Bob's store, delivers what its outbox still holds, receives every
waiting envelope (printing GOT <message id> once ``receive`` returned), then
sends two replies through the outbox (printing SENT once delivered). With
N > 0 the process kills itself with SIGKILL at the Nth write point: a
changing statement or a commit of the store, or a file written in the
mailbox's tmp/ or renamed into an inbox, wherever that falls; with PHASE
"send", only the write points after the receiving count.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from parley.client import Account, MailboxTransport, MessageReceived
from parley.client import store as store_module
from parley.client import transport as transport_module

T0 = 1_767_225_600


def main() -> int:
    root, limit, tag = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    phase = sys.argv[4] if len(sys.argv) > 4 else "all"
    count = 0
    armed = phase == "all"

    def hook(_what: str) -> None:
        nonlocal count
        if not armed:
            return
        count += 1
        if count == limit:
            os.kill(os.getpid(), signal.SIGKILL)

    store_module.WRITE_HOOK = transport_module.WRITE_HOOK = hook if limit > 0 else None
    bob = Account.open(root / "bob.db", "bob pass", clock=lambda: T0, kdf_iterations=2)
    mailbox = MailboxTransport(root / "mailbox")
    alice = bob.contact("alice")
    bob.flush_outbox(mailbox)  # what a killed run committed but did not deliver
    for item in mailbox.fetch(bob.installation_id):
        for event in bob.receive(item.data):
            if isinstance(event, MessageReceived):
                print("GOT", event.message_id.hex(), flush=True)
        bob.flush_outbox(mailbox)
        mailbox.ack(bob.installation_id, item.handle)
    armed = True
    for i in range(2):
        bob.send(alice, f"reply {tag} {i}".encode())
        bob.flush_outbox(mailbox)
        print("SENT", flush=True)
    print("DONE", count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
