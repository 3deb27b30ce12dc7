"""The Parley library for bots and apps: accounts, contacts, an encrypted store,
transports (on top of the sans-IO core in :mod:`parley`).

A few lines give forward-secret 1:1 messaging that survives restarts,
several devices and missing bundles::

    from parley.client import Account, MailboxTransport

    alice = Account.create("alice.db", "alice's passphrase")
    bob = Account.create("bob.db", "bob's passphrase")
    mailbox = MailboxTransport("/tmp/parley-mailbox")
    for account in (alice, bob):
        mailbox.register(account.account_id, account.installation_id)
    contact, _ = alice.add_contact(bob.contact_code(), name="bob")
    alice.send(contact, b"hello Bob")      # committed, with the envelope, in the outbox
    alice.flush_outbox(mailbox)             # delivered (again after a crash, if need be)
    for item in mailbox.fetch(bob.installation_id):
        print(bob.receive(item.data))          # [..., MessageReceived(...)]
        mailbox.ack(bob.installation_id, item.handle)
"""

from .account import Account, AddedContact, Contact, HistoryEntry, Installation, OutboxEntry
from .contact_code import (
    decode_contact_code,
    encode_contact_code,
    qr_terminal,
    read_qr_image,
    write_qr_png,
    write_qr_svg,
)
from .errors import (
    AccountExists,
    CannotSend,
    ClientError,
    ContactNameTaken,
    HomeInUse,
    InvalidContactCode,
    InvalidLinkPayload,
    NoAccount,
    QRCodeUnreadable,
    StoreCorrupt,
    StoreError,
    StoreVersionTooNew,
    TransportError,
    UnknownContact,
    WrongPassphrase,
)
from .events import (
    BundleRejected,
    BundleUpdated,
    Event,
    IdentityChanged,
    InstallationAdded,
    InstallationChanged,
    MessageBlocked,
    MessageReceived,
    MessageSynced,
    SessionReset,
    UndecryptableMessage,
)
from .store import Store
from .transport import Delivery, MailboxTransport, MemoryTransport, Transport

__all__ = [
    "Account",
    "AccountExists",
    "AddedContact",
    "BundleRejected",
    "BundleUpdated",
    "CannotSend",
    "ClientError",
    "Contact",
    "ContactNameTaken",
    "Delivery",
    "Event",
    "HistoryEntry",
    "HomeInUse",
    "IdentityChanged",
    "Installation",
    "InstallationAdded",
    "InstallationChanged",
    "InvalidContactCode",
    "InvalidLinkPayload",
    "MailboxTransport",
    "MemoryTransport",
    "MessageBlocked",
    "MessageReceived",
    "MessageSynced",
    "NatsTransport",
    "NoAccount",
    "OutboxEntry",
    "QRCodeUnreadable",
    "SessionReset",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreVersionTooNew",
    "Transport",
    "TransportError",
    "UndecryptableMessage",
    "UnknownContact",
    "WrongPassphrase",
    "decode_contact_code",
    "encode_contact_code",
    "qr_terminal",
    "read_qr_image",
    "write_qr_png",
    "write_qr_svg",
]


def __getattr__(name: str) -> object:
    """``NatsTransport`` is imported when first asked for (it loads the NATS client)."""
    if name == "NatsTransport":
        from .nats_transport import NatsTransport

        return NatsTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"NatsTransport"})
