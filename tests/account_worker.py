"""Child process of the two-process tests (not a test module).

Usage: python account_worker.py DB PASSPHRASE NOW

Opens the account at DB, prints READY, then follows commands read from
stdin, one per line, printing one line of JSON for each:

    receive FILE   -> {"events": [[type, reason or plaintext], ...]}
    quit           -> exits
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from parley.client import Account, MessageReceived, UndecryptableMessage


def describe(event) -> list[str]:
    if isinstance(event, MessageReceived):
        return ["MessageReceived", event.plaintext.decode()]
    if isinstance(event, UndecryptableMessage):
        return ["UndecryptableMessage", event.reason]
    return [type(event).__name__, ""]


def main() -> int:
    db, passphrase, now = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    account = Account.open(db, passphrase, clock=lambda: now, kdf_iterations=2)
    print("READY", flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "receive":
            events = account.receive(Path(arg).read_bytes())
            print(json.dumps({"events": [describe(e) for e in events]}), flush=True)
        elif command == "quit":
            break
    account.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
