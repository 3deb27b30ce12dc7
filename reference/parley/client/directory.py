"""The directory: contacts, their installations and their bundles.

It owns the ``accounts`` table (every contact, and this account itself with
``is_self = 1``) and the ``installations`` table (the known installations of
each account, with the newest bundle that holds each one's entry). Bundles
are stored only after their signature has verified (BUNDLE-010), and only
when newer than the one stored (BUNDLE-020).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bundle import Bundle, InstallationPreKeys
from ..errors import ParleyError, RemoteError
from ..keys import IdentityKey, IdentityKeyPair
from ..profile import Profile
from .errors import ContactNameTaken, InvalidContactCode, UnknownContact
from .events import (
    BundleRejected,
    BundleUpdated,
    Event,
    IdentityChanged,
    InstallationAdded,
    InstallationChanged,
)
from .store import Store

__all__ = ["AccountRow", "Contact", "Directory", "Installation"]

_ACCOUNT_SELECT = (
    "SELECT account, identity, name, is_self, bundle, bundle_ts, replied, sent_bundle_ts, "
    "added_at, pending FROM accounts "
)

#: Pending contacts (senders the user did not add) kept at most (NOBUNDLE-021).
MAX_PENDING_CONTACTS = 100
#: A pending contact is kept at least this long (seconds): beyond the cap, only
#: pending contacts older than this are forgotten (the oldest first), and while
#: none is, a new sender is refused (``PENDING_FULL``), so that a burst of
#: strangers blocks new strangers rather than erasing a real first contact.
PENDING_WINDOW = 7 * 24 * 60 * 60
#: What one pending contact may hold (NOBUNDLE-021): installations (as many as
#: a bundle can name), and bytes of message bodies (the newest kept).
MAX_PENDING_INSTALLATIONS = 32
PENDING_MESSAGE_BUDGET = 1 << 20
#: The reason of a bundle entry, or a session start, that names an installation
#: id another known account holds (MULTI-005).
INSTALLATION_CLAIMED = "INSTALLATION_CLAIMED"


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact as stored. ``account`` (the identity signing key) names it."""

    account: bytes
    name: str | None
    identity: IdentityKey = field(repr=False)
    installations: tuple[bytes, ...]
    bundle_timestamp: int
    replied: bool
    #: A sender the user has not added (nor written to) yet (NOBUNDLE-021).
    pending: bool = False
    #: The user compared safety numbers with this identity (KEYS-008).
    verified: bool = False
    #: Messages from this contact are dropped (MessageBlocked); none are sent.
    blocked: bool = False

    @property
    def fingerprint(self) -> str:
        return self.account.hex()

    @property
    def label(self) -> str:
        return self.name or self.account.hex()[:16]


@dataclass(frozen=True, slots=True)
class Installation:
    """An installation of this account."""

    installation_id: bytes
    current: bool
    prekey_id: int | None
    first_seen: int


@dataclass(slots=True)
class AccountRow:
    """One row of the ``accounts`` table."""

    account: bytes
    identity: bytes
    name: str | None
    is_self: bool
    bundle: bytes | None
    bundle_ts: int
    replied: bool
    sent_bundle_ts: int
    added_at: int
    pending: bool = False


def check_name(name: object) -> str:
    """A contact name: text of 1 to 64 characters on one line, trimmed."""
    if not isinstance(name, str):
        raise InvalidContactCode("a contact name is text")
    name = name.strip()
    if not name or len(name) > 64 or any(ch in name for ch in "\n\r\t\x00"):
        raise InvalidContactCode("a contact name is 1 to 64 characters on one line")
    return name


def _row(values: tuple | None) -> AccountRow | None:
    if values is None:
        return None
    a, i, n, s, b, bt, r, st, at, p = values
    return AccountRow(
        bytes(a), bytes(i), n, bool(s), bytes(b) if b else None, bt, bool(r), st, at, bool(p)
    )


class Directory:
    """Accounts and installations, seen from this installation."""

    def __init__(self, store: Store, account_id: bytes, installation_id: bytes) -> None:
        self._store = store
        self.account_id = account_id
        self.installation_id = installation_id

    # -- accounts ----------------------------------------------------------------------

    def row(self, account: bytes) -> AccountRow | None:
        return _row(self._store.one(_ACCOUNT_SELECT + "WHERE account = ?", (account,)))

    def add_account(
        self, identity: IdentityKey, now: int, name: str | None = None, *, self_: bool = False
    ) -> None:
        self._store.execute(
            "INSERT INTO accounts (account, identity, name, is_self, added_at) VALUES (?,?,?,?,?)",
            (identity.signing_key, identity.to_bytes(), name, int(self_), now),
        )

    def admits_pending(self, now: int) -> bool:
        """Whether a new pending contact may be added now (NOBUNDLE-021): below the
        cap, or some pending contact is older than PENDING_WINDOW (it will be
        forgotten)."""
        (count,) = self._store.one(
            "SELECT count(*) FROM accounts WHERE pending = 1 AND is_self = 0", ()
        )
        if count < MAX_PENDING_CONTACTS:
            return True
        old = self._store.one(
            "SELECT 1 FROM accounts WHERE pending = 1 AND is_self = 0 AND added_at <= ? LIMIT 1",
            (now - PENDING_WINDOW,),
        )
        return old is not None

    def add_pending(self, identity: IdentityKey, now: int) -> list[bytes]:
        """Record a sender the user did not add, as a pending contact (the caller
        checked :meth:`admits_pending`); beyond MAX_PENDING_CONTACTS, forget the
        oldest pending ones older than PENDING_WINDOW, with their installations,
        sessions and messages (the schema's trigger). Returns the forgotten accounts."""
        self._store.execute(
            "INSERT INTO accounts (account, identity, added_at, pending) VALUES (?,?,?,1)",
            (identity.signing_key, identity.to_bytes(), now),
        )
        (count,) = self._store.one(
            "SELECT count(*) FROM accounts WHERE pending = 1 AND is_self = 0", ()
        )
        rows = self._store.query(
            "SELECT account FROM accounts WHERE pending = 1 AND is_self = 0 AND added_at <= ? "
            "ORDER BY added_at, rowid LIMIT ?",
            (now - PENDING_WINDOW, max(0, count - MAX_PENDING_CONTACTS)),
        )
        dropped = [bytes(r[0]) for r in rows]
        for account in dropped:
            self._store.execute("DELETE FROM accounts WHERE account = ?", (account,))
        return dropped

    def confirm(self, account: bytes) -> None:
        """The user added or wrote to this account: no longer pending."""
        self._store.execute(
            "UPDATE accounts SET pending = 0 WHERE account = ? AND pending = 1", (account,)
        )

    def add_account_if_new(self, identity: IdentityKey, name: str | None, now: int) -> None:
        self._store.execute(
            "INSERT OR IGNORE INTO accounts (account, identity, name, added_at) VALUES (?,?,?,?)",
            (identity.signing_key, identity.to_bytes(), name, now),
        )

    def check_name_free(self, name: str, account: bytes) -> None:
        """Refuse ``name`` if an account other than ``account`` has it."""
        other = self._store.one("SELECT account FROM accounts WHERE name = ?", (name,))
        if other is not None and bytes(other[0]) != account:
            raise ContactNameTaken(f"another contact is already called {name!r}")

    def rename(self, account: bytes, name: str) -> None:
        self.check_name_free(name, account)
        self._store.execute("UPDATE accounts SET name = ? WHERE account = ?", (name, account))

    def mark_replied(self, account: bytes) -> None:
        self._store.execute("UPDATE accounts SET replied = 1 WHERE account = ?", (account,))

    def mark_bundle_sent(self, accounts: set[bytes], timestamp: int) -> None:
        for account in accounts:
            self._store.execute(
                "UPDATE accounts SET sent_bundle_ts = ? WHERE account = ?", (timestamp, account)
            )

    def contact_rows(self) -> list[AccountRow]:
        return [_row(r) for r in self._store.query(_ACCOUNT_SELECT + "WHERE is_self = 0")]

    # -- contacts ----------------------------------------------------------------------

    def contact_of(self, row: AccountRow) -> Contact:
        verified, blocked = self.marks(row.account)
        return Contact(
            row.account,
            row.name,
            IdentityKey.from_bytes(row.identity),
            self.installation_ids(row.account),
            row.bundle_ts,
            row.replied,
            row.pending,
            verified == row.identity,
            blocked,
        )

    # -- the user's marks: verified, blocked ---------------------------------------------

    def marks(self, account: bytes) -> tuple[bytes | None, bool]:
        """(the identity the user verified, or None; blocked)."""
        found = self._store.one(
            "SELECT verified_identity, blocked FROM contact_marks WHERE account = ?", (account,)
        )
        if found is None:
            return None, False
        return (bytes(found[0]) if found[0] is not None else None), bool(found[1])

    def _ensure_marks(self, account: bytes) -> None:
        self._store.execute("INSERT OR IGNORE INTO contact_marks (account) VALUES (?)", (account,))

    def set_verified(self, account: bytes, identity: bytes | None, now: int) -> None:
        """Tie the verified mark to ``identity`` (KEYS-008), or clear it (None)."""
        self._ensure_marks(account)
        self._store.execute(
            "UPDATE contact_marks SET verified_identity = ?, verified_at = ? WHERE account = ?",
            (identity, now if identity is not None else None, account),
        )

    def set_blocked(self, account: bytes, blocked: bool) -> None:
        self._ensure_marks(account)
        self._store.execute(
            "UPDATE contact_marks SET blocked = ? WHERE account = ?", (int(blocked), account)
        )

    def is_blocked(self, account: bytes) -> bool:
        return self.marks(account)[1]

    def identity_mismatch(
        self, account: bytes, iid: bytes | None, presented: IdentityKey
    ) -> IdentityChanged | None:
        """A known contact presented another identity whose binding verified: a
        verified mark no longer holds (KEYS-008), and the user is told."""
        row = self.row(account)
        if row is None or row.is_self or row.identity == presented.to_bytes():
            return None
        verified, _ = self.marks(account)
        if verified is not None:
            self.set_verified(account, None, 0)
        return IdentityChanged(account, iid, verified == row.identity)

    def remove(self, account: bytes) -> None:
        """Forget a contact; the store's triggers forget its installations,
        sessions, messages and marks with it."""
        self._store.execute("DELETE FROM accounts WHERE account = ? AND is_self = 0", (account,))

    def contacts(self) -> list[Contact]:
        rows = self._store.query(_ACCOUNT_SELECT + "WHERE is_self = 0 ORDER BY added_at, name")
        return [self.contact_of(_row(r)) for r in rows]

    def find(self, key: str | bytes | Contact) -> Contact:
        """A contact by name, fingerprint (hex, or a prefix of at least 8 digits) or account."""
        if isinstance(key, Contact):
            key = key.account
        if not isinstance(key, str | bytes):
            raise UnknownContact("a contact is named by its name, fingerprint or account bytes")
        if isinstance(key, bytes):
            row = self.row(key)
            if row is None or row.is_self:
                raise UnknownContact("no such contact")
            return self.contact_of(row)
        rows = self._store.query(_ACCOUNT_SELECT + "WHERE is_self = 0 AND name = ?", (key,))
        if not rows and len(key) >= 8 and all(ch in "0123456789abcdefABCDEF" for ch in key):
            rows = self._store.query(
                _ACCOUNT_SELECT + "WHERE is_self = 0 AND substr(lower(hex(account)), 1, ?) = ?",
                (len(key), key.lower()),
            )
        found = [self.contact_of(_row(r)) for r in rows[:2]]
        if len(found) != 1:
            raise UnknownContact(
                "no contact with this name or fingerprint"
                if not found
                else "several contacts match: use more of the fingerprint"
            )
        return found[0]

    def add_from_bundle(
        self, bundle: Bundle, name: str | None, now: int, profile: Profile, update: bool = False
    ) -> tuple[Contact, list[Event], bool]:
        """Add a contact from its bundle; a stale bundle adds its verified
        identity only. A known (not pending) contact is left as it is unless
        ``update``: then ``name`` (if given) renames it and the bundle is stored.
        Returns the contact, the bundle's events and whether it was known."""
        events: list[Event] = []
        stale = False
        try:
            bundle.verify(now, profile)
        except RemoteError as exc:
            if exc.code != "BUNDLE_STALE":
                raise InvalidContactCode(f"the bundle does not verify [{exc.code}]") from None
            stale = True
        row = self.row(bundle.identity.signing_key)
        if row is not None and row.identity != bundle.identity.to_bytes():
            raise InvalidContactCode(
                "the identity differs from the stored one of this contact: "
                "compare safety numbers with it; to accept the new identity, remove the "
                "contact, then add the code again"
            )
        known = row is not None and not row.pending
        if known and not update:
            return self.find(bundle.identity.signing_key), events, True
        if name is not None:
            self.check_name_free(name, bundle.identity.signing_key)
        if row is None:
            self.add_account(bundle.identity, now, name)
        else:
            self.confirm(bundle.identity.signing_key)
            if name is not None:
                self.rename(bundle.identity.signing_key, name)
        if not stale:
            events = self.store_bundle(bundle, now)
        return self.find(bundle.identity.signing_key), events, known

    # -- installations -------------------------------------------------------------------

    def installation_ids(self, account: bytes) -> tuple[bytes, ...]:
        return tuple(
            bytes(r[0])
            for r in self._store.query(
                "SELECT installation_id FROM installations WHERE account = ? "
                "ORDER BY first_seen, installation_id",
                (account,),
            )
        )

    def has_installation(self, account: bytes, iid: bytes) -> bool:
        found = self._store.one(
            "SELECT 1 FROM installations WHERE account = ? AND installation_id = ?", (account, iid)
        )
        return found is not None

    def ensure_installation(self, account: bytes, iid: bytes, now: int) -> bool:
        """Record an installation of ``account``; True if it was not known."""
        if account == self.account_id and iid == self.installation_id:
            return False
        if self.has_installation(account, iid):
            return False
        self._store.execute(
            "INSERT INTO installations (account, installation_id, first_seen) VALUES (?,?,?)",
            (account, iid, now),
        )
        return True

    def claimed_by_other(self, account: bytes, iid: bytes) -> bool:
        """Whether another known account (this one included) already holds the
        installation id ``iid`` (MULTI-005): the first claim keeps it."""
        if iid == self.installation_id and account != self.account_id:
            return True
        return (
            self._store.one(
                "SELECT 1 FROM installations WHERE installation_id = ? AND account != ? LIMIT 1",
                (iid, account),
            )
            is not None
        )

    def installation_count(self, account: bytes) -> int:
        (count,) = self._store.one(
            "SELECT count(*) FROM installations WHERE account = ?", (account,)
        )
        return int(count)

    def reset_at(self, account: bytes, iid: bytes) -> int:
        """When this installation last sent a RESET or HELLO to it (SESSION-020)."""
        row = self._store.one(
            "SELECT reset_at FROM installations WHERE account = ? AND installation_id = ?",
            (account, iid),
        )
        return 0 if row is None else int(row[0])

    def mark_reset(self, account: bytes, iid: bytes, now: int) -> None:
        self._store.execute(
            "UPDATE installations SET reset_at = ? WHERE account = ? AND installation_id = ?",
            (now, account, iid),
        )

    def owner_of(self, iid: bytes) -> bytes | None:
        """The one account known to have this installation, or None."""
        rows = self._store.query(
            "SELECT account FROM installations WHERE installation_id = ?", (iid,)
        )
        return bytes(rows[0][0]) if len(rows) == 1 else None

    def sibling_rows(self) -> list[tuple[bytes, bytes | None, int | None, int]]:
        """This account's other installations: (id, bundle, prekey id, first seen)."""
        return [
            (bytes(iid), bytes(b) if b else None, pk, fs)
            for iid, b, pk, fs in self._store.query(
                "SELECT installation_id, bundle, prekey_id, first_seen FROM installations "
                "WHERE account = ? ORDER BY first_seen, installation_id",
                (self.account_id,),
            )
            if bytes(iid) != self.installation_id
        ]

    def sibling_entries(self) -> list[InstallationPreKeys]:
        """The bundle entries of this account's other installations that parse."""
        entries = []
        for iid, bundle, _pk, _fs in self.sibling_rows():
            if bundle is None:
                continue
            try:
                entries.append(Bundle.from_bytes(bundle).installation(iid))
            except ParleyError:
                continue
        return entries

    # -- bundles -------------------------------------------------------------------------

    def store_bundle(self, bundle: Bundle, now: int) -> list[Event]:
        """Store a verified bundle of a known account, if newer; return its events."""
        account = bundle.identity.signing_key
        own = account == self.account_id
        row = self.row(account)
        assert row is not None
        events: list[Event] = []
        if own:
            newer = True  # own bundles are merged entry by entry below
        else:
            newer = bundle.timestamp > row.bundle_ts
            if newer:
                self._store.execute(
                    "UPDATE accounts SET bundle = ?, bundle_ts = ? WHERE account = ?",
                    (bundle.to_bytes(), bundle.timestamp, account),
                )
                events.append(BundleUpdated(account, bundle.timestamp))
        if not newer:
            return events
        raw = bundle.to_bytes()
        for entry in bundle.installations:
            iid = entry.installation_id
            if own and iid == self.installation_id:
                continue
            known = self._store.one(
                "SELECT bundle_ts, prekey_id FROM installations "
                "WHERE account = ? AND installation_id = ?",
                (account, iid),
            )
            if known is None and self.claimed_by_other(account, iid):
                events.append(BundleRejected(account, INSTALLATION_CLAIMED))  # MULTI-005
                continue
            if known is None:
                self._store.execute(
                    "INSERT INTO installations (account, installation_id, bundle, bundle_ts, "
                    "prekey_id, first_seen) VALUES (?,?,?,?,?,?)",
                    (account, iid, raw, bundle.timestamp, entry.signed_prekey_id, now),
                )
                events.append(InstallationAdded(account, iid, own))
            elif bundle.timestamp > known[0]:
                self._store.execute(
                    "UPDATE installations SET bundle = ?, bundle_ts = ?, prekey_id = ? "
                    "WHERE account = ? AND installation_id = ?",
                    (raw, bundle.timestamp, entry.signed_prekey_id, account, iid),
                )
                if known[1] is not None and known[1] != entry.signed_prekey_id:
                    events.append(InstallationChanged(account, iid, own))
        if own and any(isinstance(e, InstallationAdded | InstallationChanged) for e in events):
            events.append(BundleUpdated(account, bundle.timestamp, own=True))
        return events

    def accept_bundle(
        self, bundle: Bundle, sender: bytes | None, now: int, profile: Profile
    ) -> list[Event]:
        """A bundle from an envelope: verify it, then store it if its account is
        known or is the sender of the message. Never raises for a bad bundle."""
        account = bundle.identity.signing_key
        try:
            bundle.verify(now, profile)
        except RemoteError as exc:
            return [BundleRejected(account, exc.code)]
        row = self.row(account)
        if row is None:
            if account != sender:
                return []  # an unknown account's bundle, not from the sender: ignore
            self.add_pending(bundle.identity, now)
        elif row.identity != bundle.identity.to_bytes():
            changed = self.identity_mismatch(account, None, bundle.identity)
            return [BundleRejected(account, "IDENTITY_MISMATCH")] + ([changed] if changed else [])
        return self.store_bundle(bundle, now)

    def bundle_for(
        self, account: bytes, iid: bytes, now: int, identity: IdentityKeyPair, profile: Profile
    ) -> Bundle | None:
        """A verified bundle to start a session with one installation, or None.

        For a sibling installation, ``identity`` (this account's) signs its entry.
        """
        found = self._store.one(
            "SELECT bundle FROM installations WHERE account = ? AND installation_id = ?",
            (account, iid),
        )
        if found is None or found[0] is None:
            return None
        try:
            bundle = Bundle.from_bytes(bytes(found[0]))
            if account == self.account_id:  # a sibling: sign its entry ourselves
                return Bundle.create(identity, [bundle.installation(iid)], now, profile)
            bundle.verify(now, profile)
            bundle.installation(iid)
        except ParleyError:
            return None
        return bundle
