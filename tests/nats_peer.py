"""Child process of the NATS tests (not a test module): one account that sends
COUNT messages to its peer through a NATS transport while it receives the
peer's, until it has all of them.

Usage: python nats_peer.py DB NAME PEER URL COUNT [BATCH [PACE]]

Prints ``SENT <text>`` once a message is committed and stored by the relay,
``GOT <text> fresh`` or ``GOT <text> again`` (a redelivered report) for each
received message, ``DONE`` at the end. Sent envelopes go through the outbox; a
flush that fails (a server down, a leader election) is tried again with the
same envelopes: the relay stores each once.
Up to BATCH messages are sent in one go and received per call of
``receive_batch`` (one commit per batch with ``Account.receive_many``).
"""

from __future__ import annotations

import sys
import time

from parley.client import Account, MessageReceived, TransportError
from parley.client.nats_transport import NatsTransport
from parley.client.receiver import receive_batch

KDF = 2


def flush(account: Account, transport: NatsTransport) -> None:
    """Deliver the outbox; through a failover, try again (the relay drops a
    republished envelope, the receiver recognises one it has)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            account.flush_outbox(transport)
            return
        except TransportError as exc:
            if time.monotonic() > deadline:
                raise
            print("RETRY", exc.message, flush=True)


def main() -> int:
    db, name, peer, url, count = sys.argv[1:6]
    count = int(count)
    batch = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    pace = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0  # at most a batch per PACE s
    next_send = 0.0
    account = Account.open(db, "pass", kdf_iterations=KDF)
    transport = NatsTransport(url, request_timeout=5)
    transport.register(account.account_id, account.installation_id)
    contact = account.contact(peer)
    sent = 0
    fresh: set[str] = set()
    deadline = time.monotonic() + 300
    while (sent < count or len(fresh) < count) and time.monotonic() < deadline:
        if sent < count and time.monotonic() >= next_send:
            next_send = time.monotonic() + pace
            todo = min(batch, count - sent)
            account.send_many([(contact, f"{name} {sent + i}".encode()) for i in range(todo)])
            flush(account, transport)
            for i in range(todo):
                print("SENT", f"{name} {sent + i}", flush=True)
            sent += todo
        deliveries = transport.wait(account.installation_id, limit=batch, timeout=0.05)
        if not deliveries:
            continue
        for events in receive_batch(account, transport, deliveries):
            for event in events:
                if isinstance(event, MessageReceived):
                    text = event.plaintext.decode()
                    print("GOT", text, "again" if event.redelivered else "fresh", flush=True)
                    if not event.redelivered:
                        fresh.add(text)
    transport.close()
    account.close()
    print("DONE" if len(fresh) >= count else "TIMEOUT", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
