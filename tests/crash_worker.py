"""Child process of tests/test_store.py's crash test (not a test module).

Usage: python crash_worker.py DIR N TAG

Opens Bob's store, receives every waiting envelope (printing GOT <message id>
once ``receive`` returned), then sends two replies (printing SENT after the
envelope is in the mailbox). With N > 0 the process kills itself with
SIGKILL at the Nth write point of the store (a changing statement or a
commit), wherever that falls.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from parley.client import Account, MailboxTransport, MessageReceived
from parley.client import store as store_module

T0 = 1_767_225_600


def main() -> int:
    root, limit, tag = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    count = 0

    def hook(_what: str) -> None:
        nonlocal count
        count += 1
        if count == limit:
            os.kill(os.getpid(), signal.SIGKILL)

    store_module.WRITE_HOOK = hook if limit > 0 else None
    bob = Account.open(root / "bob.db", "bob pass", clock=lambda: T0, kdf_iterations=2)
    mailbox = MailboxTransport(root / "mailbox")
    alice = bob.contact("alice")
    for item in mailbox.fetch(bob.installation_id):
        for event in bob.receive(item.data):
            if isinstance(event, MessageReceived):
                print("GOT", event.message_id.hex(), flush=True)
        mailbox.ack(bob.installation_id, item.handle)
    for i in range(2):
        envelope = bob.send(alice, f"reply {tag} {i}".encode())
        mailbox.deliver(envelope, account=alice.account)
        print("SENT", flush=True)
    print("DONE", count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
