"""What :meth:`Account.receive <parley.client.account.Account.receive>` reports.

Every event is a frozen, slotted dataclass. Accounts are named by their
identity signing key (32 bytes); installations by their 16-byte identifier.
A repr never shows plaintext.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BundleRejected",
    "BundleUpdated",
    "Event",
    "IdentityChanged",
    "InstallationAdded",
    "InstallationChanged",
    "MessageBlocked",
    "MessageReceived",
    "MessageSynced",
    "SessionReset",
    "UndecryptableMessage",
]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message from a contact. ``forward_secret`` is False for a no-bundle message
    (NOBUNDLE-002): show it to the user."""

    sender: bytes
    installation: bytes
    plaintext: bytes = field(repr=False)
    forward_secret: bool
    message_id: bytes
    timestamp: int
    sender_name: str | None = None
    #: True when the envelope was processed before and this is the stored
    #: message reported again (at-least-once; deduplicate by ``message_id``).
    redelivered: bool = False


@dataclass(frozen=True, slots=True)
class MessageSynced:
    """A message that another installation of this account sent to ``peer``
    (the copy every own installation gets, FANOUT-001)."""

    peer: bytes
    installation: bytes
    plaintext: bytes = field(repr=False)
    message_id: bytes
    timestamp: int
    peer_name: str | None = None
    redelivered: bool = False


@dataclass(frozen=True, slots=True)
class InstallationAdded:
    """A new installation of a contact, or of this account (``own``)."""

    account: bytes
    installation: bytes
    own: bool = False


@dataclass(frozen=True, slots=True)
class InstallationChanged:
    """An installation that now offers other prekeys (rotation, or a restored
    installation that kept its identifier)."""

    account: bytes
    installation: bytes
    own: bool = False


@dataclass(frozen=True, slots=True)
class BundleUpdated:
    """A newer, verified bundle of ``account`` was stored."""

    account: bytes
    timestamp: int
    own: bool = False


@dataclass(frozen=True, slots=True)
class BundleRejected:
    """A bundle that arrived in an envelope and was not used: ``reason`` is the
    error code (BUNDLE_STALE, BUNDLE_SIGNATURE_INVALID, ...)."""

    account: bytes | None
    reason: str


@dataclass(frozen=True, slots=True)
class UndecryptableMessage:
    """A message this installation cannot read. ``reason`` is the error code
    (NO_SESSION, UNKNOWN_PREKEY, INVALID_MAC, DUPLICATE_MESSAGE, NOT_ADDRESSED, ...).

    When the reason calls for the session-reset flow (SESSION-020),
    ``reset_envelope`` holds the envelope that starts a new session with the
    sender's installation: hand it to the transport like any sent envelope.
    """

    sender: bytes | None
    installation: bytes | None
    reason: str
    reset_envelope: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SessionReset:
    """The peer's installation replaced its session with this one (SESSION-020),
    or asked for a new one; ``reply_envelope`` is set when answering needs a
    message (hand it to the transport)."""

    account: bytes
    installation: bytes
    reply_envelope: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class MessageBlocked:
    """A message from a blocked contact: dropped unread, not stored, not answered."""

    sender: bytes
    installation: bytes
    message_id: bytes


@dataclass(frozen=True, slots=True)
class IdentityChanged:
    """A contact presented an identity (validly bound to its signing key) other
    than the stored one. Its messages are still refused (IDENTITY_MISMATCH);
    a verified mark no longer holds (KEYS-008): compare safety numbers again,
    then remove the contact and add its new code to accept the new identity."""

    account: bytes
    installation: bytes | None
    was_verified: bool


Event = (
    MessageReceived
    | MessageSynced
    | InstallationAdded
    | InstallationChanged
    | BundleUpdated
    | BundleRejected
    | UndecryptableMessage
    | SessionReset
    | MessageBlocked
    | IdentityChanged
)
