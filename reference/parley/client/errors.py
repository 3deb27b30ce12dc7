"""The library's errors: local errors of the core's one tree (parley.errors).

Everything the library layer (accounts, store, contact codes, transports)
raises is a :class:`ClientError`, a :class:`parley.errors.LocalError` with a
``code`` of its own. Messages never hold key material, plaintext or contact
names.
"""

from __future__ import annotations

from ..errors import LocalError, ParleyError

__all__ = [
    "CLIENT_ERROR_CODES",
    "AccountExists",
    "CannotSend",
    "ClientError",
    "ContactNameTaken",
    "HomeInUse",
    "InvalidContactCode",
    "InvalidLinkPayload",
    "NoAccount",
    "QRCodeUnreadable",
    "StoreCorrupt",
    "StoreError",
    "StoreVersionTooNew",
    "TransportError",
    "UnknownContact",
    "WrongPassphrase",
]


class ClientError(LocalError):
    """Base of the library layer's errors."""

    code = "CLIENT_ERROR"


class StoreError(ClientError):
    """The encrypted store cannot be used; nothing in it was changed."""

    code = "STORE_ERROR"


class WrongPassphrase(StoreError):
    """The passphrase does not open the store (or its first page is damaged)."""

    code = "STORE_WRONG_PASSPHRASE"


class StoreCorrupt(StoreError):
    """The store file is damaged, truncated, or not a Parley store."""

    code = "STORE_CORRUPT"


class StoreVersionTooNew(StoreError):
    """The store was written by a newer version of Parley (schema version above ours)."""

    code = "STORE_VERSION_TOO_NEW"


class NoAccount(ClientError):
    """There is no account at this place yet (run ``parley init``)."""

    code = "NO_ACCOUNT"


class HomeInUse(ClientError):
    """Another process (a daemon, or a command that changes the installation)
    holds this home folder; ``pid`` is that process, when known."""

    code = "HOME_IN_USE"

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class AccountExists(ClientError):
    """An account already exists at this place."""

    code = "ACCOUNT_EXISTS"


class InvalidContactCode(ClientError, ValueError):
    """A contact code with a wrong prefix, alphabet, version, checksum or bundle."""

    code = "INVALID_CONTACT_CODE"


class QRCodeUnreadable(ClientError):
    """No Parley contact code could be read from the image."""

    code = "QR_UNREADABLE"


class InvalidLinkPayload(ClientError):
    """A link (or backup) payload that does not decode, or is for another use."""

    code = "INVALID_LINK_PAYLOAD"


class UnknownContact(ClientError):
    """No contact has this name or fingerprint (or it is ambiguous)."""

    code = "UNKNOWN_CONTACT"


class ContactNameTaken(ClientError):
    """Another contact already has this name (names are unique in an account)."""

    code = "CONTACT_NAME_TAKEN"


class CannotSend(ClientError):
    """No way to encrypt for this contact (for example, an invalid identity)."""

    code = "CANNOT_SEND"


class TransportError(ClientError):
    """The transport could not take or give a message."""

    code = "TRANSPORT_ERROR"


#: Every library error class by its code.
CLIENT_ERROR_CODES: dict[str, type[ParleyError]] = {
    cls.code: cls
    for cls in (
        ClientError,
        StoreError,
        WrongPassphrase,
        StoreCorrupt,
        StoreVersionTooNew,
        NoAccount,
        AccountExists,
        HomeInUse,
        InvalidContactCode,
        QRCodeUnreadable,
        InvalidLinkPayload,
        UnknownContact,
        ContactNameTaken,
        CannotSend,
        TransportError,
    )
}
