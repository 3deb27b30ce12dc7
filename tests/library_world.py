"""A test world for the library: accounts on one in-memory transport, a fixed
clock, cheap store KDF, pumped by hand."""

from __future__ import annotations

from parley import DeterministicRandom
from parley.client import (
    Account,
    MemoryTransport,
    MessageReceived,
    SessionReset,
    UndecryptableMessage,
)

T0 = 1_767_225_600
DAY = 86_400
KDF = 2  # store KDF iterations: cheap for tests


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class World:
    """Accounts on one in-memory transport, pumped by hand.

    With ``deliver_resets`` (the default), :meth:`pump` hands the reset and
    reply envelopes that events carry to the transport, as an application
    would; without it a test delivers them itself.
    """

    def __init__(self, tmp_path, seed: bytes = b"world", *, deliver_resets: bool = True) -> None:
        self.tmp = tmp_path
        self.clock = Clock()
        self.net = MemoryTransport()
        self.rng = DeterministicRandom(seed)
        self.deliver_resets = deliver_resets

    def _open(self, name: str, opener, *args) -> Account:
        return opener(
            self.tmp / f"{name}.db",
            f"{name} pass",
            *args,
            rng=self.rng,
            clock=self.clock,
            kdf_iterations=KDF,
        )

    def account(self, name: str) -> Account:
        acc = self._open(name, Account.create)
        self.net.register(acc.account_id, acc.installation_id)
        return acc

    def reopen(self, acc: Account, name: str) -> Account:
        acc.close()
        return self._open(name, Account.open)

    def link(
        self, source: Account, name: str, restore: bool = False, *, announce: bool = True
    ) -> Account:
        acc = self._open(name, Account.from_link, source.export_link(restore=restore))
        self.net.register(acc.account_id, acc.installation_id)
        if announce:
            hello = acc.announce()
            if hello is not None:
                self.net.deliver(hello, account=acc.account_id)
        return acc

    def send(self, sender: Account, contact, text: bytes) -> bytes:
        envelope = sender.send(contact, text)
        self.net.deliver(envelope, account=sender.contact(contact).account)
        return envelope

    def pump(self, acc: Account) -> list:
        events = []
        for item in self.net.fetch(acc.installation_id):
            got = acc.receive(item.data)
            self.net.ack(acc.installation_id, item.handle)
            events += got
            if not self.deliver_resets:
                continue
            for e in got:
                if isinstance(e, UndecryptableMessage) and e.reset_envelope:
                    self.net.deliver(e.reset_envelope, account=e.sender)
                if isinstance(e, SessionReset) and e.reply_envelope:
                    self.net.deliver(e.reply_envelope, account=e.account)
        return events


def texts(events, kind=MessageReceived) -> list[bytes]:
    return [e.plaintext for e in events if isinstance(e, kind)]
