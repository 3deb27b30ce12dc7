"""Child process of the NATS fault tests (not a test module): receive COUNT
messages through a NATS transport in batches, one commit per batch.

Usage: python nats_receiver.py DB URL COUNT BATCH KILL

Prints ``GOT <text> fresh|again`` for each message once its batch committed,
then ``DONE``. With KILL = ``write:N`` the process SIGKILLs itself at the Nth
write statement of the store (inside a batch, before its commit); with
``commit:N`` right after the Nth commit (before the batch is acknowledged).
"""

from __future__ import annotations

import os
import signal
import sys

from parley.client import Account, MessageReceived
from parley.client import store as store_module
from parley.client.nats_transport import NatsTransport
from parley.client.receiver import receive_batch


def main() -> int:
    db, url, count, batch, kill = sys.argv[1:6]
    count, batch = int(count), int(batch)
    kind, _, at = kill.partition(":")
    seen = {"write": 0, "commit": 0}

    def hook(what: str) -> None:
        seen[what] += 1
        if what == kind and seen[what] == int(at):
            os.kill(os.getpid(), signal.SIGKILL)

    account = Account.open(db, "pass", kdf_iterations=2)
    store_module.WRITE_HOOK = hook if kind in seen else None
    transport = NatsTransport(url, request_timeout=5)
    transport.register(account.account_id, account.installation_id)
    total = 0

    def show(results) -> None:
        nonlocal total
        for events in results:
            for e in events:
                if isinstance(e, MessageReceived):
                    print("GOT", e.plaintext.decode(), "again" if e.redelivered else "fresh")
                    total += not e.redelivered
        sys.stdout.flush()

    while total < count:
        deliveries = transport.wait(account.installation_id, limit=batch, timeout=60)
        if not deliveries:
            break
        receive_batch(account, transport, deliveries, on_commit=show)
    print("DONE", flush=True)
    transport.close()
    account.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
