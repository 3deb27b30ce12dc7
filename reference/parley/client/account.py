"""An account on one installation: contacts, fan-out, sessions, the store.

:class:`Account` is what a bot or an app uses. It holds the account's
identity, this installation's prekeys, and an encrypted :class:`Store`; it
knows the account's other installations and every contact's installations.

* :meth:`Account.send` encrypts one message once per addressed installation
  (every known installation of the peer and every other own installation,
  FANOUT-001) and returns one envelope. With no usable bundle of the peer it
  writes a no-bundle message (not forward secret, NOBUNDLE-002) that carries
  this account's bundle; the reply starts a forward-secret session.
* :meth:`Account.receive` takes envelope bytes and returns events
  (:mod:`parley.client.events`). Sessions follow SESSION-010; a message that
  cannot be decrypted starts the reset flow (SESSION-020).
* Atomicity: each call is one store transaction. ``send`` commits the
  advanced ratchet state before it returns a ciphertext; ``receive`` commits
  the state change, the replay caches and the history row together.

Randomness (``rng``) and time (``clock``, seconds since the Unix epoch) are
injected, as in the core.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..bundle import Bundle, InstallationPreKeys
from ..codec import (
    ENVELOPE_FORMAT_VERSION,
    Envelope,
    InstallationMessage,
    decode_envelope,
    decode_ratchet_message,
    encode_envelope,
)
from ..errors import (
    ParleyError,
    RemoteError,
    StateFormatError,
)
from ..keys import IdentityKey, IdentityKeyPair, InstallationKeys, SignedPreKey
from ..no_bundle import open_no_bundle, seal_no_bundle
from ..primitives import DHKeyPair, Random, SystemRandom
from ..profile import PROFILE_1, Profile
from ..session import Session
from ..state import dump_identity, dump_installation, load_identity, load_installation
from ..versioning import CURRENT_POLICY, VersionPolicy
from . import payload as P
from .contact_code import decode_contact_code, encode_contact_code
from .decisions import HELLO as DECIDE_HELLO
from .decisions import (
    OWN_ENVELOPE,
    SessionCandidate,
    choose_session,
    failure_action,
    reuses_chosen,
    select_copy,
)
from .decisions import RESET as DECIDE_RESET
from .errors import CannotSend, InvalidContactCode, InvalidLinkPayload, UnknownContact
from .events import (
    BundleRejected,
    BundleUpdated,
    Event,
    InstallationAdded,
    InstallationChanged,
    MessageReceived,
    MessageSynced,
    SessionReset,
    UndecryptableMessage,
)
from .store import Store

__all__ = ["Account", "Contact", "HistoryEntry", "Installation"]

#: Own bundle: re-signed when its entries change, or once it is this old.
BUNDLE_REFRESH = 24 * 60 * 60
LINK_MAGIC = b"parley-link-1\n"

_ACCOUNT_SELECT = (
    "SELECT account, identity, name, is_self, bundle, bundle_ts, replied, sent_bundle_ts, "
    "added_at FROM accounts "
)


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact as stored. ``account`` (the identity signing key) names it."""

    account: bytes
    name: str | None
    identity: IdentityKey = field(repr=False)
    installations: tuple[bytes, ...]
    bundle_timestamp: int
    replied: bool

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


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    message_id: bytes
    at: int
    direction: str  # "in" or "out"
    account: bytes
    installation: bytes
    body: bytes = field(repr=False)
    forward_secret: bool


@dataclass(slots=True)
class _Row:
    account: bytes
    identity: bytes
    name: str | None
    is_self: bool
    bundle: bytes | None
    bundle_ts: int
    replied: bool
    sent_bundle_ts: int
    added_at: int


def _row(values: tuple | None) -> _Row | None:
    if values is None:
        return None
    a, i, n, s, b, bt, r, st, at = values
    return _Row(bytes(a), bytes(i), n, bool(s), bytes(b) if b else None, bt, bool(r), st, at)


class _NoBundleReplayCache:
    """The ephemeral keys of accepted no-bundle messages, as the store holds them."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __contains__(self, ephemeral_key: object) -> bool:
        key = b"N" + bytes(ephemeral_key)  # type: ignore[arg-type]
        return self._store.one("SELECT 1 FROM seen WHERE digest = ?", (key,)) is not None


def new_installation_keys(
    rng: Random, now: int, installation_id: bytes | None = None
) -> InstallationKeys:
    """A fresh installation; prekey ids start at a random point so that a restored
    installation (same id, new keys) never reuses a prekey id of its past."""
    iid = installation_id if installation_id is not None else rng.random_bytes(16)
    first = 1 + int.from_bytes(rng.random_bytes(3), "big")
    return InstallationKeys(
        iid, [SignedPreKey(first, DHKeyPair.generate(rng), now)], next_prekey_id=first + 1
    )


class Account:
    """One installation of an account, with its encrypted store."""

    def __init__(
        self,
        store: Store,
        *,
        rng: Random | None = None,
        clock: Callable[[], int] | None = None,
        profile: Profile = PROFILE_1,
        policy: VersionPolicy = CURRENT_POLICY,
    ) -> None:
        self._store = store
        self._message_row: int | None = None
        self.rng = rng or SystemRandom()
        self.clock = clock or (lambda: int(time.time()))
        self.profile = profile
        self.policy = policy
        identity = store.get_meta("identity")
        installation = store.get_meta("installation")
        if identity is None or installation is None:
            raise StateFormatError("the store holds no account")
        self._identity = load_identity(identity)
        self._installation = load_installation(installation)
        with self._txn():
            self._maintain(self.clock())

    # -- creating and opening ------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        passphrase: str,
        *,
        rng: Random | None = None,
        clock: Callable[[], int] | None = None,
        kdf_iterations: int | None = None,
        identity: IdentityKeyPair | None = None,
        installation: InstallationKeys | None = None,
    ) -> Account:
        """A new account (a new identity, unless one is given) with one installation."""
        rng = rng or SystemRandom()
        now = (clock or (lambda: int(time.time())))()
        identity = identity or IdentityKeyPair.generate(rng)
        installation = installation or new_installation_keys(rng, now)
        store = Store.create(path, passphrase, kdf_iterations=kdf_iterations)
        try:
            with store.transaction():
                store.set_meta("identity", dump_identity(identity))
                store.set_meta("installation", dump_installation(installation))
                store.execute(
                    "INSERT INTO accounts (account, identity, is_self, added_at) VALUES (?,?,1,?)",
                    (identity.public.signing_key, identity.public.to_bytes(), now),
                )
        except BaseException:
            store.close()
            Path(path).unlink(missing_ok=True)
            raise
        return cls(store, rng=rng, clock=clock)

    @classmethod
    def open(
        cls,
        path: str | Path,
        passphrase: str,
        *,
        rng: Random | None = None,
        clock: Callable[[], int] | None = None,
        kdf_iterations: int | None = None,
    ) -> Account:
        store = Store.open(path, passphrase, kdf_iterations=kdf_iterations)
        try:
            return cls(store, rng=rng, clock=clock)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Account:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- who we are ------------------------------------------------------------------

    @property
    def account_id(self) -> bytes:
        """The identity signing key: the account's name."""
        return self._identity.public.signing_key

    @property
    def identity(self) -> IdentityKey:
        return self._identity.public

    @property
    def installation_id(self) -> bytes:
        return self._installation.installation_id

    @property
    def fingerprint(self) -> str:
        return self.account_id.hex()

    @property
    def store(self) -> Store:
        return self._store

    def __repr__(self) -> str:
        return (
            f"Account({self.account_id.hex()[:16]}..., installation={self.installation_id.hex()})"
        )

    # -- transactions, prekeys, own bundle -------------------------------------------

    @contextmanager
    def _txn(self) -> Iterator[None]:
        try:
            with self._store.transaction():
                yield
        except BaseException:
            # The store rolled back: drop any in-memory change to the prekeys.
            data = self._store.get_meta("installation")
            if data is not None:
                self._installation = load_installation(data)
            raise

    def _save_installation(self) -> None:
        self._store.set_meta("installation", dump_installation(self._installation))

    def _maintain(self, now: int) -> None:
        """Rotate the signed prekey on schedule; delete expired ones (PREKEY-001, -004)."""
        keys = self._installation
        changed = False
        if keys.needs_rotation(now, self.profile):
            keys.rotate_signed_prekey(self.rng, now)
            changed = True
        if keys.delete_expired_prekeys(now, self.profile):
            changed = True
        if changed:
            self._save_installation()

    def _sibling_rows(self) -> list[tuple[bytes, bytes | None, int | None, int]]:
        return [
            (bytes(iid), bytes(b) if b else None, pk, fs)
            for iid, b, pk, fs in self._store.query(
                "SELECT installation_id, bundle, prekey_id, first_seen FROM installations "
                "WHERE account = ? ORDER BY first_seen, installation_id",
                (self.account_id,),
            )
            if bytes(iid) != self.installation_id
        ]

    def _own_entries(self) -> list[InstallationPreKeys]:
        entries = [InstallationPreKeys.of(self._installation, self.policy)]
        for iid, bundle, _pk, _fs in self._sibling_rows():
            if bundle is None:
                continue
            try:
                entries.append(Bundle.from_bytes(bundle).installation(iid))
            except ParleyError:
                continue
        return entries[: self.profile.max_installations_per_bundle]

    def bundle(self) -> Bundle:
        """This account's current bundle, as signed by this installation."""
        now = self.clock()
        with self._txn():
            self._maintain(now)
            return self._own_bundle(now)

    def _own_bundle(self, now: int) -> Bundle:
        entries = sorted(self._own_entries(), key=lambda e: e.installation_id)
        cached = self._store.get_meta("own_bundle")
        if cached is not None:
            bundle = Bundle.from_bytes(cached)
            if (
                list(bundle.installations) == entries
                and now - bundle.timestamp < BUNDLE_REFRESH
                and bundle.timestamp <= now + self.profile.clock_skew
            ):
                return bundle
        # Timestamps strictly increase, so a peer always takes the new bundle.
        timestamp = now if cached is None else max(now, Bundle.from_bytes(cached).timestamp + 1)
        bundle = Bundle.create(self._identity, entries, timestamp, self.profile)
        self._store.set_meta("own_bundle", bundle.to_bytes())
        return bundle

    def contact_code(self) -> str:
        """This account's contact code (text); see :mod:`parley.client.contact_code`."""
        return encode_contact_code(self.bundle())

    # -- contacts ----------------------------------------------------------------------

    def _account_row(self, account: bytes) -> _Row | None:
        return _row(self._store.one(_ACCOUNT_SELECT + "WHERE account = ?", (account,)))

    def _contact(self, row: _Row) -> Contact:
        iids = tuple(
            bytes(r[0])
            for r in self._store.query(
                "SELECT installation_id FROM installations WHERE account = ? "
                "ORDER BY first_seen, installation_id",
                (row.account,),
            )
        )
        return Contact(
            row.account,
            row.name,
            IdentityKey.from_bytes(row.identity),
            iids,
            row.bundle_ts,
            row.replied,
        )

    def contacts(self) -> list[Contact]:
        rows = self._store.query(_ACCOUNT_SELECT + "WHERE is_self = 0 ORDER BY added_at, name")
        return [self._contact(_row(r)) for r in rows]

    def contact(self, key: str | bytes | Contact) -> Contact:
        """A contact by name, fingerprint (hex, or a prefix of at least 8 digits) or account."""
        if isinstance(key, Contact):
            key = key.account
        if isinstance(key, bytes):
            row = self._account_row(key)
            if row is None or row.is_self:
                raise UnknownContact("no such contact")
            return self._contact(row)
        rows = self._store.query(_ACCOUNT_SELECT + "WHERE is_self = 0 AND name = ?", (key,))
        if not rows and len(key) >= 8 and all(ch in "0123456789abcdefABCDEF" for ch in key):
            rows = self._store.query(
                _ACCOUNT_SELECT + "WHERE is_self = 0 AND substr(lower(hex(account)), 1, ?) = ?",
                (len(key), key.lower()),
            )
        found = [self._contact(_row(r)) for r in rows[:2]]
        if len(found) != 1:
            raise UnknownContact(
                "no contact with this name or fingerprint"
                if not found
                else "several contacts match: use more of the fingerprint"
            )
        return found[0]

    def add_contact(
        self, code: str | Bundle, name: str | None = None
    ) -> tuple[Contact, list[Event]]:
        """Add (or update) a contact from a contact code or a bundle.

        The bundle's signature is checked. A bundle past its maximum age still
        names a verified identity: the contact is added with that identity
        only, and the first message to it is a no-bundle message (not forward
        secret) until it replies. Returns the contact and the events the
        bundle caused.
        """
        bundle = decode_contact_code(code) if isinstance(code, str) else code
        if name is not None:
            name = name.strip()
            if not name or len(name) > 64 or any(ch in name for ch in "\n\r\t\x00"):
                raise InvalidContactCode("a contact name is 1 to 64 characters on one line")
        if bundle.identity.signing_key == self.account_id:
            raise InvalidContactCode("this is the code of this account itself")
        now = self.clock()
        with self._txn():
            events: list[Event] = []
            stale = False
            try:
                bundle.verify(now, self.profile)
            except RemoteError as exc:
                if exc.code != "BUNDLE_STALE":
                    raise InvalidContactCode(f"the bundle does not verify [{exc.code}]") from None
                stale = True
            row = self._account_row(bundle.identity.signing_key)
            if row is not None and row.identity != bundle.identity.to_bytes():
                raise InvalidContactCode("the bundle's identity differs from the stored one")
            if row is None:
                self._store.execute(
                    "INSERT INTO accounts (account, identity, name, added_at) VALUES (?,?,?,?)",
                    (bundle.identity.signing_key, bundle.identity.to_bytes(), name, now),
                )
            elif name is not None:
                self._rename(bundle.identity.signing_key, name)
            if not stale:
                events = self._store_bundle(bundle, now)
            return self.contact(bundle.identity.signing_key), events

    def _rename(self, account: bytes, name: str) -> None:
        other = self._store.one("SELECT account FROM accounts WHERE name = ?", (name,))
        if other is not None and bytes(other[0]) != account:
            raise InvalidContactCode("another contact already has this name")
        self._store.execute("UPDATE accounts SET name = ? WHERE account = ?", (name, account))

    def rename_contact(self, contact: str | bytes | Contact, name: str) -> Contact:
        target = self.contact(contact)
        with self._txn():
            self._rename(target.account, name)
        return self.contact(target.account)

    def installations(self) -> list[Installation]:
        """This account's installations that this one knows, itself first."""
        spk = self._installation.current_signed_prekey
        out = [Installation(self.installation_id, True, spk.id, spk.created_at)]
        out += [Installation(i, False, pk, fs) for i, _b, pk, fs in self._sibling_rows()]
        return out

    # -- bundles ---------------------------------------------------------------------

    def _store_bundle(self, bundle: Bundle, now: int) -> list[Event]:
        """Store a verified bundle of a known account, if newer; return its events."""
        account = bundle.identity.signing_key
        own = account == self.account_id
        row = self._account_row(account)
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

    def _accept_bundle(self, bundle: Bundle, sender: bytes | None, now: int) -> list[Event]:
        """A bundle from an envelope: verify it, then store it if its account is
        known or is the sender of the message. Never raises for a bad bundle."""
        account = bundle.identity.signing_key
        try:
            bundle.verify(now, self.profile)
        except RemoteError as exc:
            return [BundleRejected(account, exc.code)]
        row = self._account_row(account)
        if row is None:
            if account != sender:
                return []  # an unknown account's bundle, not from the sender: ignore
            self._store.execute(
                "INSERT INTO accounts (account, identity, added_at) VALUES (?,?,?)",
                (account, bundle.identity.to_bytes(), now),
            )
        elif row.identity != bundle.identity.to_bytes():
            return [BundleRejected(account, "IDENTITY_MISMATCH")]
        return self._store_bundle(bundle, now)

    def _bundle_for(self, account: bytes, iid: bytes, now: int) -> Bundle | None:
        """A verified bundle to start a session with one installation, or None."""
        found = self._store.one(
            "SELECT bundle FROM installations WHERE account = ? AND installation_id = ?",
            (account, iid),
        )
        if found is None or found[0] is None:
            return None
        try:
            bundle = Bundle.from_bytes(bytes(found[0]))
            if account == self.account_id:  # a sibling: sign its entry ourselves
                return Bundle.create(self._identity, [bundle.installation(iid)], now, self.profile)
            bundle.verify(now, self.profile)
            bundle.installation(iid)
        except ParleyError:
            return None
        return bundle

    # -- sessions ----------------------------------------------------------------------

    def _sessions(self, account: bytes | None, iid: bytes) -> list[tuple[int, Session, bool]]:
        """Sessions with one installation: the active one first, then newest first."""
        if account is None:
            rows = self._store.query(
                "SELECT id, state, active FROM sessions WHERE installation_id = ? "
                "ORDER BY active DESC, id DESC",
                (iid,),
            )
        else:
            rows = self._store.query(
                "SELECT id, state, active FROM sessions WHERE account = ? AND installation_id = ? "
                "ORDER BY active DESC, id DESC",
                (account, iid),
            )
        return [(rid, Session.from_bytes(bytes(state)), bool(act)) for rid, state, act in rows]

    def _insert_session(self, session: Session, active: bool, now: int) -> int:
        account = session.remote_identity.signing_key
        iid = session.remote_installation_id
        if active:
            self._store.execute(
                "UPDATE sessions SET active = 0 WHERE account = ? AND installation_id = ?",
                (account, iid),
            )
        cursor = self._store.execute(
            "INSERT INTO sessions (account, installation_id, session_id, state, active, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (account, iid, session.session_id, session.to_bytes(), int(active), now),
        )
        self._ensure_installation(account, iid, now)
        return cursor.lastrowid

    def _save_session(self, rowid: int, session: Session) -> None:
        self._store.execute(
            "UPDATE sessions SET state = ? WHERE id = ?", (session.to_bytes(), rowid)
        )

    def _ensure_installation(self, account: bytes, iid: bytes, now: int) -> bool:
        if account == self.account_id and iid == self.installation_id:
            return False
        found = self._store.one(
            "SELECT 1 FROM installations WHERE account = ? AND installation_id = ?", (account, iid)
        )
        if found is None:
            self._store.execute(
                "INSERT INTO installations (account, installation_id, first_seen) VALUES (?,?,?)",
                (account, iid, now),
            )
            return True
        return False

    def _sending_session(self, account: bytes, iid: bytes, now: int) -> tuple[int, Session] | None:
        """The session to send with (SESSION-010), started from a bundle if needed."""
        sessions = self._sessions(account, iid)
        for rowid, session, active in sessions:
            if active:
                return rowid, session
        return self._start_session(account, iid, now)

    def _start_session(self, account: bytes, iid: bytes, now: int) -> tuple[int, Session] | None:
        """A new session (X3DH) with the peer's installation from its newest bundle,
        stored; None if no bundle serves (none known, stale, or refused)."""
        bundle = self._bundle_for(account, iid, now)
        if bundle is None:
            return None
        try:
            session = Session.initiate(
                self._identity,
                self.installation_id,
                bundle,
                iid,
                now=now,
                rng=self.rng,
                profile=self.profile,
                policy=self.policy,
            )
        except RemoteError:
            return None
        return self._insert_session(session, True, now), session

    def _encrypt_for(
        self, account: bytes, iid: bytes, data: bytes, now: int
    ) -> InstallationMessage | None:
        try:
            found = self._sending_session(account, iid, now)
        except RemoteError:
            return None
        if found is None:
            return None
        rowid, session = found
        body = session.encrypt(data)
        self._save_session(rowid, session)  # the advanced chain is committed with the send
        return InstallationMessage(iid, "ratchet", body)

    # -- sending -------------------------------------------------------------------------

    def send(self, contact: str | bytes | Contact, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` for ``contact``: the envelope bytes to hand to the transport.

        One copy per known installation of the contact and per other own
        installation (FANOUT-001). The new ratchet states and the history row
        are committed before this returns.
        """
        if not isinstance(plaintext, bytes):
            raise CannotSend("the plaintext must be bytes")
        target = self.contact(contact)
        now = self.clock()
        message_id = self.rng.random_bytes(P.MESSAGE_ID_SIZE)
        with self._txn():
            self._maintain(now)
            to_peer = P.encode_payload(P.Payload(P.TEXT, message_id, plaintext))
            copies = []
            for iid in target.installations:
                copy = self._encrypt_for(target.account, iid, to_peer, now)
                if copy is not None:
                    copies.append(copy)
            forward_secret = bool(copies)
            if not copies:
                try:
                    sealed = seal_no_bundle(
                        self._identity,
                        self.installation_id,
                        target.identity,
                        to_peer,
                        rng=self.rng,
                        version=self.policy.writes,
                        profile=self.profile,
                    )
                except ParleyError as exc:
                    raise CannotSend(f"cannot encrypt for this contact [{exc.code}]") from None
                copies.append(InstallationMessage(None, "no_bundle", sealed))
            copies += self._sibling_copies(
                P.Payload(P.SENT, message_id, plaintext, target.account), now
            )
            row = self._account_row(target.account)
            envelope = self._envelope(copies, row, now, force_bundle=not forward_secret)
            if len(envelope) > self.profile.max_message_size:
                # WIRE-042: the limit holds for the whole fan-out. Raising here
                # rolls the transaction back: no chain key has advanced.
                raise CannotSend(
                    f"the envelope for {len(copies)} installations would be {len(envelope)} "
                    f"bytes, above the {self.profile.max_message_size}-byte limit: "
                    "send a shorter message"
                )
            self._add_history(
                message_id,
                now,
                "out",
                target.account,
                self.installation_id,
                plaintext,
                forward_secret,
            )
        return envelope

    def _sibling_copies(self, payload: P.Payload, now: int) -> list[InstallationMessage]:
        data = P.encode_payload(payload)
        copies = []
        for iid, _b, _pk, _fs in self._sibling_rows():
            copy = self._encrypt_for(self.account_id, iid, data, now)
            if copy is not None:
                copies.append(copy)
        return copies

    def _envelope(
        self,
        copies: list[InstallationMessage],
        peer: _Row | None,
        now: int,
        force_bundle: bool = False,
    ) -> bytes:
        """One envelope; the own bundle is attached when the peer has not replied yet,
        holds an older one, or the copy needs it (BUNDLE-030, NOBUNDLE-003)."""
        own = self._own_bundle(now)
        me = self._account_row(self.account_id)
        assert me is not None
        attach = force_bundle
        has_siblings = any(
            c.recipient_installation_id is not None
            and self._store.one(
                "SELECT 1 FROM installations WHERE account = ? AND installation_id = ?",
                (self.account_id, c.recipient_installation_id),
            )
            for c in copies
        )
        if has_siblings and me.sent_bundle_ts < own.timestamp:
            attach = True
        if (
            peer is not None
            and not peer.is_self
            and (not peer.replied or peer.sent_bundle_ts < own.timestamp)
        ):
            attach = True
        if attach:
            for account in {self.account_id} | ({peer.account} if peer is not None else set()):
                self._store.execute(
                    "UPDATE accounts SET sent_bundle_ts = ? WHERE account = ?",
                    (own.timestamp, account),
                )
        return encode_envelope(
            Envelope(
                ENVELOPE_FORMAT_VERSION,
                self.installation_id,
                tuple(copies),
                own if attach else None,
            )
        )

    def announce(self) -> bytes | None:
        """A HELLO to every other own installation (after linking or a restore),
        with this installation's bundle attached; None if there is none."""
        now = self.clock()
        with self._txn():
            copies = self._sibling_copies(
                P.Payload(P.HELLO, self.rng.random_bytes(P.MESSAGE_ID_SIZE)), now
            )
            if not copies:
                return None
            return self._envelope(copies, None, now, force_bundle=True)

    # -- receiving -------------------------------------------------------------------------

    def receive(self, envelope: bytes) -> list[Event]:
        """Process one envelope; return what happened, as events.

        Never raises for bad input from the network: a malformed envelope, a
        bad bundle or an undecryptable copy becomes an event. An envelope
        already processed changes nothing; if it held a message, that stored
        message is reported again with ``redelivered=True`` (at-least-once: a
        caller killed before it saw the first report does not lose it).
        """
        if not isinstance(envelope, bytes | bytearray | memoryview):
            raise CannotSend("an envelope is bytes")
        envelope = bytes(envelope)
        now = self.clock()
        digest = b"E" + hashlib.sha256(envelope).digest()
        with self._txn():
            done = self._store.one("SELECT message FROM seen WHERE digest = ?", (digest,))
            if done is not None:
                # Processed before. If it gave a message, report it again: the
                # caller may have crashed before it saw it (at-least-once).
                return self._replay(done[0]) if done[0] is not None else []
            self._maintain(now)
            self._message_row = None
            events = self._receive(envelope, now)
            self._store.execute(
                "INSERT INTO seen (digest, at, message) VALUES (?, ?, ?)",
                (digest, now, self._message_row),
            )
        return events

    def _replay(self, rowid: int) -> list[Event]:
        row = self._store.one(
            "SELECT message_id, at, direction, account, installation_id, body, forward_secret "
            "FROM messages WHERE id = ?",
            (rowid,),
        )
        if row is None:
            return []
        message_id, at, direction, account, iid, body, forward_secret = row
        peer = self._account_row(bytes(account))
        name = peer.name if peer else None
        if direction == "in":
            return [
                MessageReceived(
                    bytes(account),
                    bytes(iid),
                    bytes(body),
                    bool(forward_secret),
                    bytes(message_id),
                    at,
                    name,
                    redelivered=True,
                )
            ]
        return [
            MessageSynced(
                bytes(account), bytes(iid), bytes(body), bytes(message_id), at, name, True
            )
        ]

    def _add_history(
        self,
        message_id: bytes,
        now: int,
        direction: str,
        account: bytes,
        iid: bytes,
        body: bytes,
        forward_secret: bool,
    ) -> int:
        cursor = self._store.execute(
            "INSERT INTO messages (message_id, at, direction, account, installation_id, body, "
            "forward_secret) VALUES (?,?,?,?,?,?,?)",
            (message_id, now, direction, account, iid, body, int(forward_secret)),
        )
        self._message_row = cursor.lastrowid
        return cursor.lastrowid

    def _receive(self, data: bytes, now: int) -> list[Event]:
        try:
            envelope = decode_envelope(data, self.policy, self.profile)
        except ParleyError as exc:
            return [UndecryptableMessage(None, None, exc.code)]
        sender_iid = envelope.sender_installation_id
        selection, index = select_copy(envelope, self.installation_id)  # MULTI-003
        if selection == OWN_ENVELOPE:
            return []
        events: list[Event] = []
        bundle = envelope.sender_bundle
        bundle_account = bundle.identity.signing_key if bundle is not None else None
        bundle_done = False
        if bundle is not None and self._account_row(bundle_account) is not None:
            # A known account's bundle first, so a reset below uses the newest one.
            events += self._accept_bundle(bundle, None, now)
            bundle_done = True
        copy = None if index is None else envelope.messages[index]
        sender: bytes | None = None
        failure: str | None = None
        wants_session = False
        if copy is None:
            failure = "NOT_ADDRESSED"
        elif copy.kind == "no_bundle":
            sender, failure, more, wants_session = self._receive_no_bundle(
                copy.body, sender_iid, now
            )
            events += more
        else:
            sender, failure, more = self._receive_ratchet(copy.body, sender_iid, now)
            events += more
        if bundle is not None and not bundle_done and sender == bundle_account:
            events[:0] = self._accept_bundle(bundle, sender, now)
        if wants_session and sender is not None:
            # A no-bundle RESET: the peer has no usable bundle of ours and no
            # session: start one from the bundle it attached.
            reply = self._reset(sender, sender_iid, now, P.HELLO, fresh=True)
            events.append(SessionReset(sender, sender_iid, reply))
        if failure is not None:
            if sender is None:
                if (
                    bundle is not None
                    and sender_iid in bundle.installation_ids
                    and self._account_row(bundle_account) is not None
                ):
                    sender = bundle_account
                if sender is None:
                    sender = self._owner_of(sender_iid)
            reset = None
            action = failure_action(failure)
            if sender is not None and action in (DECIDE_RESET, DECIDE_HELLO):
                kind = P.HELLO if action == DECIDE_HELLO else P.RESET
                reset = self._reset(sender, sender_iid, now, kind)
            events.append(UndecryptableMessage(sender, sender_iid, failure, reset))
        return events

    def _owner_of(self, iid: bytes) -> bytes | None:
        rows = self._store.query(
            "SELECT account FROM installations WHERE installation_id = ?", (iid,)
        )
        return bytes(rows[0][0]) if len(rows) == 1 else None

    def _receive_no_bundle(
        self, body: bytes, sender_iid: bytes, now: int
    ) -> tuple[bytes | None, str | None, list[Event], bool]:
        try:
            opened = open_no_bundle(
                self._identity,
                body,
                sender_iid,
                replay_cache=_NoBundleReplayCache(self._store),  # NOBUNDLE-020
                policy=self.policy,
                profile=self.profile,
            )
            payload = P.decode_payload(opened.plaintext)
        except ParleyError as exc:
            return None, exc.code, [], False
        sender = opened.sender.signing_key
        key = b"N" + opened.ephemeral_key
        self._store.execute("INSERT INTO seen (digest, at) VALUES (?, ?)", (key, now))
        if sender == self.account_id:
            return sender, None, [], False
        row = self._account_row(sender)
        if row is None:
            self._store.execute(
                "INSERT INTO accounts (account, identity, added_at) VALUES (?,?,?)",
                (sender, opened.sender.to_bytes(), now),
            )
        elif row.identity != opened.sender.to_bytes():
            return sender, "IDENTITY_MISMATCH", [], False
        if payload.kind == P.TEXT:
            return (
                sender,
                None,
                [self._deliver_text(sender, sender_iid, payload, False, now)],
                False,
            )
        return sender, None, [], payload.kind == P.RESET

    def _receive_ratchet(
        self, body: bytes, sender_iid: bytes, now: int
    ) -> tuple[bytes | None, str | None, list[Event]]:
        try:
            decoded = decode_ratchet_message(body, self.policy, self.profile)
        except ParleyError as exc:
            return None, exc.code, []
        header = decoded.x3dh_header
        sessions = self._sessions(None, sender_iid)
        errors: list[ParleyError] = []
        for rowid, session, active in sessions:
            if header is not None and not session.accepts(decoded):
                continue
            try:
                plaintext = session.decrypt(decoded, self.rng)
            except RemoteError as exc:
                errors.append(exc)
                continue
            self._save_session(rowid, session)
            account = session.remote_identity.signing_key
            if active:  # SESSION-010: the chosen session decrypted; drop the others
                self._store.execute(
                    "DELETE FROM sessions WHERE account = ? AND installation_id = ? AND id != ?",
                    (account, sender_iid, rowid),
                )
            return account, None, self._handle_payload(account, sender_iid, plaintext, True, now)
        if header is None or errors:  # no session, or the session of this header failed
            if not errors:
                return self._owner_of(sender_iid), "NO_SESSION", []
            owner = sessions[0][1].remote_identity.signing_key
            codes = [e.code for e in errors]
            code = "DUPLICATE_MESSAGE" if "DUPLICATE_MESSAGE" in codes else codes[0]
            return owner, code, []
        # An initial message of a new session.
        try:
            session, plaintext = Session.respond(
                self._identity,
                self._installation,
                decoded,
                sender_iid,
                rng=self.rng,
                profile=self.profile,
                policy=self.policy,
            )
        except RemoteError as exc:
            sender = header.initiator_identity.signing_key
            known = self._account_row(sender) is not None
            return (sender if known else None), exc.code, []
        self._save_installation()  # replay guard, used one-time prekey (PREKEY-005)
        account = session.remote_identity.signing_key
        row = self._account_row(account)
        if row is None:
            self._store.execute(
                "INSERT INTO accounts (account, identity, added_at) VALUES (?,?,?)",
                (account, session.remote_identity.to_bytes(), now),
            )
        elif row.identity != session.remote_identity.to_bytes():
            return account, "IDENTITY_MISMATCH", []
        events: list[Event] = []
        if self._ensure_installation(account, sender_iid, now):
            events.append(InstallationAdded(account, sender_iid, account == self.account_id))
        # SESSION-010: the newest session sends, unless both sides initiated at
        # once: then both keep the one with the lower session id.
        current = next((s for _r, s, act in self._sessions(account, sender_iid) if act), None)
        # A RESET is no simultaneous initiation: the peer could not use our
        # pending session (SESSION-020), so its new session must win on both sides.
        is_reset = plaintext[:1] == bytes([P.RESET])
        candidate = (
            None
            if current is None
            else SessionCandidate(
                current.session_id, current.initiator, current.pending_x3dh is not None
            )
        )
        activate = choose_session(candidate, session.session_id, is_reset) == session.session_id
        self._insert_session(session, activate, now)
        return (
            account,
            None,
            events + self._handle_payload(account, sender_iid, plaintext, True, now),
        )

    def _handle_payload(
        self, account: bytes, iid: bytes, data: bytes, forward_secret: bool, now: int
    ) -> list[Event]:
        try:
            payload = P.decode_payload(data)
        except ParleyError:
            return [UndecryptableMessage(account, iid, "MALFORMED_MESSAGE")]
        own = account == self.account_id
        if not own:
            self._store.execute("UPDATE accounts SET replied = 1 WHERE account = ?", (account,))
        if payload.kind == P.TEXT and not own:
            return [self._deliver_text(account, iid, payload, forward_secret, now)]
        if payload.kind == P.SENT and own and payload.peer is not None:
            peer = self._account_row(payload.peer)
            self._add_history(payload.message_id, now, "out", payload.peer, iid, payload.body, True)
            return [
                MessageSynced(
                    payload.peer,
                    iid,
                    payload.body,
                    payload.message_id,
                    now,
                    peer.name if peer else None,
                )
            ]
        if payload.kind == P.RESET:
            return [SessionReset(account, iid, None)]
        return []

    def _deliver_text(
        self, account: bytes, iid: bytes, payload: P.Payload, forward_secret: bool, now: int
    ) -> MessageReceived:
        row = self._account_row(account)
        self._add_history(payload.message_id, now, "in", account, iid, payload.body, forward_secret)
        return MessageReceived(
            account,
            iid,
            payload.body,
            forward_secret,
            payload.message_id,
            now,
            row.name if row else None,
        )

    def _reset(
        self, account: bytes, iid: bytes, now: int, kind: int, fresh: bool = False
    ) -> bytes | None:
        """SESSION-020: a new session with the peer's installation, from its newest
        bundle, announced by a RESET (or HELLO) message; None if no bundle serves.

        A reset session still waiting for its reply is reused, so a burst of
        undecryptable messages starts one session, not one each.
        """
        current = next(((r, s) for r, s, a in self._sessions(account, iid) if a), None)
        chosen = (
            None
            if current is None
            else SessionCandidate(
                current[1].session_id, current[1].initiator, current[1].pending_x3dh is not None
            )
        )
        # a fresh HELLO (answering a no-bundle RESET) reuses only as a RESET would
        action = DECIDE_HELLO if kind == P.HELLO and not fresh else DECIDE_RESET
        if current is not None and reuses_chosen(action, chosen):
            rowid, session = current
        else:
            started = self._start_session(account, iid, now)
            if started is None:
                return None
            rowid, session = started
        body = session.encrypt(
            P.encode_payload(P.Payload(kind, self.rng.random_bytes(P.MESSAGE_ID_SIZE)))
        )
        self._save_session(rowid, session)
        copy = InstallationMessage(iid, "ratchet", body)
        return self._envelope([copy], self._account_row(account), now, force_bundle=True)

    # -- history -------------------------------------------------------------------------

    def history(
        self, contact: str | bytes | Contact | None = None, limit: int = 100
    ) -> list[HistoryEntry]:
        """The newest ``limit`` messages, oldest first; of one contact if given."""
        if contact is None:
            rows = self._store.query(
                "SELECT message_id, at, direction, account, installation_id, body, forward_secret "
                "FROM messages ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        else:
            account = self.contact(contact).account
            rows = self._store.query(
                "SELECT message_id, at, direction, account, installation_id, body, forward_secret "
                "FROM messages WHERE account = ? ORDER BY id DESC LIMIT ?",
                (account, limit),
            )
        return [
            HistoryEntry(bytes(m), at, d, bytes(a), bytes(i), bytes(b), bool(fs))
            for m, at, d, a, i, b, fs in reversed(rows)
        ]

    def session_count(self) -> int:
        (n,) = self._store.one("SELECT count(*) FROM sessions")
        return n

    # -- linking installations -----------------------------------------------------------

    def export_link(self, *, restore: bool = False) -> bytes:
        """A link payload: what another installation needs to join this account.

        It holds the identity PRIVATE key. Move it over a trusted channel only
        (a cable, a local file you delete after use, a QR code shown on a
        screen you hold) and never over the network in the clear. With
        ``restore`` it also names this installation, so that the payload
        restores it on a new device (a backup); otherwise the new installation
        gets an identifier of its own.
        """
        now = self.clock()
        with self._txn():
            own = self._own_bundle(now)
            siblings = [b.hex() for _i, b, _pk, _fs in self._sibling_rows() if b is not None]
            contacts = [
                {
                    "name": row.name,
                    "identity": row.identity.hex(),
                    "bundle": row.bundle.hex() if row.bundle else None,
                }
                for row in (
                    _row(r) for r in self._store.query(_ACCOUNT_SELECT + "WHERE is_self = 0")
                )
            ]
        body = {
            "kind": "restore" if restore else "link",
            "identity": dump_identity(self._identity).hex(),
            "installation_id": self.installation_id.hex() if restore else None,
            "own_bundle": own.to_bytes().hex(),
            "siblings": siblings,
            "contacts": contacts,
        }
        return LINK_MAGIC + json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_link(
        cls,
        path: str | Path,
        passphrase: str,
        payload: bytes,
        *,
        rng: Random | None = None,
        clock: Callable[[], int] | None = None,
        kdf_iterations: int | None = None,
    ) -> Account:
        """A new installation of an existing account, from :meth:`export_link`.

        Call :meth:`announce` next and deliver its envelope, so that the other
        installations learn of this one.
        """
        rng = rng or SystemRandom()
        now = (clock or (lambda: int(time.time())))()
        try:
            if not payload.startswith(LINK_MAGIC):
                raise ValueError
            body = json.loads(payload[len(LINK_MAGIC) :])
            identity = load_identity(bytes.fromhex(body["identity"]))
            restore = body["kind"] == "restore"
            iid = bytes.fromhex(body["installation_id"]) if restore else None
            bundles = [Bundle.from_bytes(bytes.fromhex(body["own_bundle"]))]
            bundles += [Bundle.from_bytes(bytes.fromhex(b)) for b in body["siblings"]]
            contacts = [
                (
                    c["name"],
                    IdentityKey.from_bytes(bytes.fromhex(c["identity"])),
                    Bundle.from_bytes(bytes.fromhex(c["bundle"])) if c["bundle"] else None,
                )
                for c in body["contacts"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError, ParleyError):
            raise InvalidLinkPayload("not a Parley link payload, or a damaged one") from None
        if any(b.identity != identity.public for b in bundles):
            raise InvalidLinkPayload("the payload's bundles are not of its identity")
        installation = new_installation_keys(rng, now, iid)
        account = cls.create(
            path,
            passphrase,
            rng=rng,
            clock=clock,
            kdf_iterations=kdf_iterations,
            identity=identity,
            installation=installation,
        )
        with account._txn():
            # The account's last bundle: the new installation's own bundle will be
            # newer than it, so peers take it (a restored installation's new prekeys).
            account._store.set_meta("own_bundle", bundles[0].to_bytes())
            for bundle in bundles:
                try:
                    bundle.verify(now, account.profile)
                except RemoteError:
                    continue
                account._store_bundle(bundle, now)
            for name, ident, bundle in contacts:
                ident.verify(account.profile)
                account._store.execute(
                    "INSERT OR IGNORE INTO accounts (account, identity, name, added_at) "
                    "VALUES (?,?,?,?)",
                    (ident.signing_key, ident.to_bytes(), name, now),
                )
                if bundle is not None and bundle.identity == ident:
                    try:
                        bundle.verify(now, account.profile)
                    except RemoteError:
                        continue
                    account._store_bundle(bundle, now)
        return account
