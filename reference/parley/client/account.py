"""An account on one installation: contacts, fan-out, sessions, the store.

:class:`Account` is what a bot or an app uses. It orchestrates the stores of
one installation, each owning its tables (:mod:`.local` the own keys,
:mod:`.directory` contacts, installations and bundles, :mod:`.sessions`,
:mod:`.history`, :mod:`.replay`, :mod:`.outbox`), and the steps over them
(:mod:`.sending`, :mod:`.receiving`, :mod:`.links`).

* :meth:`Account.send` encrypts one message once per addressed installation
  (every known installation of the peer and every other own installation,
  FANOUT-001) and returns one envelope. With no usable bundle of the peer it
  writes a no-bundle message (not forward secret, NOBUNDLE-002) that carries
  this account's bundle; the reply starts a forward-secret session.
* :meth:`Account.receive` takes envelope bytes and returns events
  (:mod:`parley.client.events`). Sessions follow SESSION-010; a message that
  cannot be decrypted starts the reset flow (SESSION-020).
* Atomicity: each call is one store transaction, which reads the state it
  changes inside it (so two processes may share a store). ``send`` commits the
  advanced ratchet state with the envelope, in the outbox, before it returns
  it; :meth:`Account.flush_outbox` delivers it. ``receive`` commits the state
  change, the replay caches and the history row together.

Randomness (``rng``) and time (``clock``, seconds since the Unix epoch) are
injected, as in the core.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ..bundle import Bundle
from ..errors import InvalidArgument
from ..keys import IdentityKey, IdentityKeyPair, InstallationKeys
from ..primitives import Random, SystemRandom
from ..profile import PROFILE_1, Profile
from ..safety_number import safety_number
from ..versioning import CURRENT_POLICY, VersionPolicy
from . import links, receiving, sending
from . import payload as P
from .contact_code import decode_contact_code, encode_contact_code
from .directory import Contact, Directory, Installation, check_name
from .errors import CannotSend, InvalidContactCode, TransportError
from .events import Event
from .history import HistoryEntry
from .local import LocalInstallation, new_installation_keys
from .outbox import OutboxEntry
from .store import Store
from .stores import Stores
from .transport import Transport

__all__ = [
    "Account",
    "AddedContact",
    "Contact",
    "HistoryEntry",
    "Installation",
    "OutboxEntry",
    "new_installation_keys",
]

Clock = Callable[[], int]
#: The most history entries one call returns.
MAX_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class AddedContact:
    """What :meth:`Account.add_contact` did; it unpacks as ``contact, events``.

    ``known``: the code's account was already a contact (not a pending one).
    Unless asked (``update=True``) a known contact is left as it was, name and
    bundle, and ``changed`` is False."""

    contact: Contact
    events: list[Event]
    known: bool = False
    changed: bool = True

    def __iter__(self) -> Iterator[Contact | list[Event]]:
        return iter((self.contact, self.events))


def _system_clock() -> int:
    return int(time.time())


def _deliver_chunk(
    transport: Transport, chunk: list[OutboxEntry], failed: dict[bytes, TransportError]
) -> list[tuple[OutboxEntry, set[bytes]]]:
    """Hand ``chunk`` to the transport; return what it took, with its recipients.
    A relay takes the chunk in one go; if it refuses one envelope, or for a
    transport that resolves accounts itself, they go one at a time, and a
    refused account (recorded in ``failed``) keeps its later envelopes back."""
    if transport.addresses_accounts and chunk:
        try:
            targets = transport.deliver_many([(e.envelope, e.account) for e in chunk])
            return list(zip(chunk, targets, strict=True))
        except TransportError:
            pass  # one of them was refused: find which, one at a time
    out = []
    for entry in chunk:
        if entry.account in failed:
            continue
        try:
            targets = transport.deliver(entry.envelope, account=entry.account)
            if not targets and not transport.addresses_accounts:
                raise TransportError(
                    "the transport knows no installation of the recipient: "
                    "the envelope waits in the outbox"
                )
        except TransportError as exc:
            failed[entry.account] = exc
            continue
        out.append((entry, targets))
    return out


class Account:
    """One installation of an account, with its encrypted store."""

    def __init__(
        self,
        store: Store,
        *,
        rng: Random | None = None,
        clock: Clock | None = None,
        profile: Profile = PROFILE_1,
        policy: VersionPolicy = CURRENT_POLICY,
    ) -> None:
        self.rng = rng or SystemRandom()
        self.clock = clock or _system_clock
        self.profile = profile
        self.policy = policy
        self._st = Stores.of(store, self.rng, profile, policy)
        self._unmarked: list[int] = []  # outbox entries delivered, not yet marked
        with self._txn():
            self._st.local.maintain(self.rng, self.clock())

    # -- creating and opening ------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        passphrase: str,
        *,
        rng: Random | None = None,
        clock: Clock | None = None,
        kdf_iterations: int | None = None,
        identity: IdentityKeyPair | None = None,
        installation: InstallationKeys | None = None,
    ) -> Account:
        """A new account (a new identity, unless one is given) with one installation."""
        rng = rng or SystemRandom()
        now = (clock or _system_clock)()
        identity = identity or IdentityKeyPair.generate(rng)
        installation = installation or new_installation_keys(rng, now)

        def initialise(store: Store) -> None:  # in the transaction that makes the store
            LocalInstallation.initialise(store, identity, installation)
            directory = Directory(store, identity.public.signing_key, installation.installation_id)
            directory.add_account(identity.public, now, self_=True)

        store = Store.create(path, passphrase, kdf_iterations=kdf_iterations, initialise=initialise)
        try:
            return cls(store, rng=rng, clock=clock)
        except BaseException:
            store.close()
            raise

    @classmethod
    def open(
        cls,
        path: str | Path,
        passphrase: str,
        *,
        rng: Random | None = None,
        clock: Clock | None = None,
        kdf_iterations: int | None = None,
    ) -> Account:
        store = Store.open(path, passphrase, kdf_iterations=kdf_iterations)
        try:
            return cls(store, rng=rng, clock=clock)
        except BaseException:
            store.close()
            raise

    @classmethod
    def from_link(
        cls,
        path: str | Path,
        passphrase: str,
        payload: bytes,
        *,
        rng: Random | None = None,
        clock: Clock | None = None,
        kdf_iterations: int | None = None,
    ) -> Account:
        """A new installation of an existing account, from :meth:`export_link`.

        Call :meth:`announce` next and deliver its envelope, so that the other
        installations learn of this one.
        """
        rng = rng or SystemRandom()
        now = (clock or _system_clock)()
        link = links.parse_link(payload)  # every check before the store is created
        installation = new_installation_keys(rng, now, link.installation_id)
        account = cls.create(
            path,
            passphrase,
            rng=rng,
            clock=clock,
            kdf_iterations=kdf_iterations,
            identity=link.identity,
            installation=installation,
        )
        try:
            with account._txn():
                links.import_link(account._st, link, now)
        except BaseException:  # no half-made store: a retry must not find one
            account.close()
            Path(path).unlink(missing_ok=True)
            raise
        return account

    def close(self) -> None:
        if self._unmarked:  # a deferred flush's marks (else: delivered again, recognised)
            with suppress(Exception), self._txn():
                pass
        self._st.store.close()

    def __enter__(self) -> Account:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- who we are ------------------------------------------------------------------

    @property
    def account_id(self) -> bytes:
        """The identity signing key: the account's name."""
        return self._st.account_id

    @property
    def identity(self) -> IdentityKey:
        return self._st.local.identity.public

    @property
    def installation_id(self) -> bytes:
        return self._st.installation_id

    @property
    def fingerprint(self) -> str:
        return self.account_id.hex()

    @property
    def store(self) -> Store:
        return self._st.store

    @property
    def _identity(self) -> IdentityKeyPair:
        return self._st.local.identity

    @property
    def _installation(self) -> InstallationKeys:
        return self._st.local.keys

    def __repr__(self) -> str:
        return (
            f"Account({self.account_id.hex()[:16]}..., installation={self.installation_id.hex()})"
        )

    @contextmanager
    def _txn(self) -> Iterator[Stores]:
        """One store transaction; the prekeys are read inside it (another process
        may share the store) and read again if it rolls back."""
        marks, self._unmarked = self._unmarked, []
        try:
            with self._st.store.transaction():
                self._st.local.refresh()
                if marks:  # delivered by a deferred flush: recorded with this change
                    now = self.clock()
                    for entry_id in marks:
                        self._st.outbox.mark_delivered(entry_id, now)
                yield self._st
        except BaseException:
            self._unmarked = marks + self._unmarked  # rolled back: still to record
            self._st.local.refresh()
            raise

    # -- own bundle, contacts, installations --------------------------------------------

    def bundle(self) -> Bundle:
        """This account's current bundle, as signed by this installation."""
        now = self.clock()
        with self._txn() as st:
            st.local.maintain(self.rng, now)
            return st.own_bundle(now)

    def contact_code(self) -> str:
        """This account's contact code (text); see :mod:`parley.client.contact_code`."""
        return encode_contact_code(self.bundle())

    def contacts(self) -> list[Contact]:
        return self._st.directory.contacts()

    def contact(self, key: str | bytes | Contact) -> Contact:
        """A contact by name, fingerprint (hex, or a prefix of at least 8 digits) or account."""
        return self._st.directory.find(key)

    def add_contact(
        self, code: str | Bundle, name: str | None = None, *, update: bool = False
    ) -> AddedContact:
        """Add a contact from a contact code or a bundle.

        The bundle's signature is checked. A bundle past its maximum age still
        names a verified identity: the contact is added with that identity
        only, and the first message to it is a no-bundle message (not forward
        secret) until it replies.

        A code of a known contact changes nothing (``known`` is True in the
        result, which holds the contact as stored) unless ``update``: then the
        code's bundle is stored and ``name``, if given, renames it, in one
        transaction. A code whose identity differs from the stored one is
        refused (InvalidContactCode). Returns the contact and the events the
        bundle caused; it unpacks as ``contact, events``.
        """
        if isinstance(code, str):
            bundle = decode_contact_code(code)
        elif isinstance(code, Bundle):
            bundle = code
        else:
            raise InvalidContactCode("a contact code is text (or a Bundle)")
        name = None if name is None else check_name(name)
        if bundle.identity.signing_key == self.account_id:
            raise InvalidContactCode("this is the code of this account itself")
        now = self.clock()
        with self._txn() as st:
            contact, events, known = st.directory.add_from_bundle(
                bundle, name, now, self.profile, update=update
            )
        return AddedContact(contact, events, known, changed=not known or update)

    def rename_contact(self, contact: str | bytes | Contact, name: str) -> Contact:
        target = self.contact(contact)
        name = check_name(name)
        with self._txn() as st:
            st.directory.rename(target.account, name)
        return self.contact(target.account)

    def safety_number(self, contact: str | bytes | Contact) -> str:
        """The 60-digit safety number of this account and ``contact`` (KEYS-007):
        both sides compute the same digits; compare them in person."""
        return safety_number(self.identity, self.contact(contact).identity, self.profile)

    def mark_verified(self, contact: str | bytes | Contact, verified: bool = True) -> Contact:
        """Mark ``contact`` verified (after comparing safety numbers), tied to its
        current identity (KEYS-008), or clear the mark."""
        target = self.contact(contact)
        with self._txn() as st:
            identity = target.identity.to_bytes() if verified else None
            st.directory.set_verified(target.account, identity, self.clock())
        return self.contact(target.account)

    def block_contact(self, contact: str | bytes | Contact, blocked: bool = True) -> Contact:
        """Block ``contact`` (its messages are dropped with MessageBlocked, none are
        sent to it), or unblock it."""
        target = self.contact(contact)
        with self._txn() as st:
            st.directory.set_blocked(target.account, blocked)
        return self.contact(target.account)

    def remove_contact(self, contact: str | bytes | Contact) -> Contact:
        """Forget ``contact``: its name, bundle, installations, sessions, messages
        and marks. A later message from it comes as from a stranger (a pending
        contact): block it instead to keep it out."""
        target = self.contact(contact)
        with self._txn() as st:
            st.directory.remove(target.account)  # the store's triggers forget the rest
        return target

    def installations(self) -> list[Installation]:
        """This account's installations that this one knows, itself first."""
        spk = self._st.local.keys.current_signed_prekey
        out = [Installation(self.installation_id, True, spk.id, spk.created_at)]
        out += [
            Installation(i, False, pk, fs) for i, _b, pk, fs in self._st.directory.sibling_rows()
        ]
        return out

    # -- messages ----------------------------------------------------------------------

    def send(self, contact: str | bytes | Contact, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` for ``contact``: the envelope bytes to hand to the transport.

        One copy per known installation of the contact and per other own
        installation (FANOUT-001). The new ratchet states, the history row and
        the envelope, in the outbox, are committed together before this
        returns: deliver it with :meth:`flush_outbox`.
        """
        if not isinstance(plaintext, bytes):
            raise CannotSend("the plaintext must be bytes")
        target = self.contact(contact)
        if target.blocked:
            raise CannotSend("this contact is blocked: unblock it to send")
        now = self.clock()
        message_id = self.rng.random_bytes(P.MESSAGE_ID_SIZE)
        with self._txn() as st:
            st.local.maintain(self.rng, now)
            st.directory.confirm(target.account)  # written to: no longer pending
            data, fs = sending.send_text(st, target, message_id, plaintext, now)
            st.history.add(
                message_id, now, "out", target.account, self.installation_id, plaintext, fs
            )
        return data

    def flush_outbox(
        self, transport: Transport, *, batch: int = 100, defer_marks: bool = False
    ) -> list[tuple[OutboxEntry, set[bytes]]]:
        """Deliver every envelope waiting in the outbox, oldest first, marking them
        delivered once the transport took them; return them with their recipients.

        Call it after :meth:`send` (instead of delivering the envelope yourself)
        and now and then (at start, in a receive loop): what a crash left
        undelivered goes out then. Envelopes go ``batch`` at a time (one
        ``Transport.deliver_many`` for a relay), each batch marked delivered in
        one transaction. An envelope the transport refuses, or takes for no
        installation at all (a transport that resolves accounts itself), stays
        in the outbox with the later ones to the same account (so they keep
        their order); the envelopes to other accounts still go, then the first
        TransportError is raised. A crash before a batch is marked hands it over
        again on the next flush; the receiver recognises what did arrive.

        With ``defer_marks`` the marks are written by the next transaction of
        this account (the next send, receive or flush, or :meth:`close`) instead
        of one of their own: one commit fewer per batch for a busy sender. A
        crash before then hands those envelopes over again on the next start;
        the relay drops a republished one within its window, and the receiver
        recognises any.
        """
        with self._txn() as st:
            skip = set(self._unmarked)
            pending = [e for e in st.outbox.pending() if e.id not in skip]
        done: list[tuple[OutboxEntry, set[bytes]]] = []
        failed: dict[bytes, TransportError] = {}
        for start in range(0, len(pending), batch):
            chunk = [e for e in pending[start : start + batch] if e.account not in failed]
            delivered = _deliver_chunk(transport, chunk, failed)
            if defer_marks:
                self._unmarked += [entry.id for entry, _t in delivered]
            elif delivered:
                with self._txn() as st:
                    now = self.clock()
                    for entry, _t in delivered:
                        st.outbox.mark_delivered(entry.id, now)
                    st.outbox.prune(now)
            done += delivered
        if failed:
            raise next(iter(failed.values()))
        return done

    def outbox(self) -> list[OutboxEntry]:
        """The envelopes not yet delivered, oldest first (for a transport of your own:
        deliver each, then :meth:`mark_delivered`)."""
        with self._txn() as st:
            return st.outbox.pending()

    def mark_delivered(self, entry: OutboxEntry | int) -> None:
        entry_id = entry.id if isinstance(entry, OutboxEntry) else entry
        if isinstance(entry_id, bool) or not isinstance(entry_id, int) or not 0 < entry_id < 2**63:
            raise InvalidArgument("an outbox entry, or its id")
        with self._txn() as st:
            st.outbox.mark_delivered(entry_id, self.clock())

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
        now = self.clock()
        with self._txn() as st:
            return receiving.receive(st, bytes(envelope), now)

    def send_many(self, items: Sequence[tuple[str | bytes | Contact, bytes]]) -> list[bytes]:
        """:meth:`send` for several (contact, plaintext) pairs, committed in one
        transaction (one fsync): all of them, or, if one cannot be sent
        (CannotSend, naming it), none. The envelopes, in order."""
        items = list(items)
        if any(not isinstance(text, bytes) for _c, text in items):
            raise CannotSend("the plaintexts must be bytes")
        found: dict[object, Contact] = {}
        for contact, _t in items:  # each contact looked up once
            key = contact.account if isinstance(contact, Contact) else contact
            if key not in found:
                found[key] = self.contact(contact)
        targets = [found[c.account if isinstance(c, Contact) else c] for c, _t in items]
        now = self.clock()
        out = []
        with self._txn() as st, st.sessions.batch():
            st.local.maintain(self.rng, now)
            for n, (target, (_c, plaintext)) in enumerate(zip(targets, items, strict=True)):
                message_id = self.rng.random_bytes(P.MESSAGE_ID_SIZE)
                try:
                    data, fs = sending.send_text(st, target, message_id, plaintext, now)
                except CannotSend as exc:
                    raise CannotSend(f"message {n} of the batch: {exc.message}") from None
                st.history.add(
                    message_id, now, "out", target.account, self.installation_id, plaintext, fs
                )
                out.append(data)
        return out

    def receive_many(self, envelopes: Sequence[bytes]) -> list[list[Event]]:
        """:meth:`receive` for several envelopes, committed in one transaction
        (one fsync); one list of events per envelope, in order.

        Each envelope is processed exactly as :meth:`receive` would, one after
        the other, each in a savepoint of its own: a bad envelope gives its
        events (it never raises) and changes nothing for the others. Should
        processing one raise (a local failure, not bad input), its savepoint
        is rolled back, the envelopes before it are committed and the error is
        raised; a caller acknowledges nothing then, and the committed ones,
        delivered again, are recognised.
        """
        datas = list(envelopes)
        if any(not isinstance(d, bytes | bytearray | memoryview) for d in datas):
            raise CannotSend("an envelope is bytes")
        now = self.clock()
        out: list[list[Event]] = []
        failure: BaseException | None = None
        with self._txn() as st:
            for data in datas:
                try:
                    with st.store.savepoint():
                        out.append(receiving.receive(st, bytes(data), now, prune=False))
                except Exception as exc:
                    st.local.refresh()  # the savepoint rolled back: so do the prekeys
                    failure = exc
                    break
            st.seen.prune(now)  # once for the batch: the same bounds as one at a time
        if failure is not None:
            raise failure
        return out

    def history(
        self, contact: str | bytes | Contact | None = None, limit: int = 100
    ) -> list[HistoryEntry]:
        """The newest ``limit`` messages, oldest first; of one contact if given."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be a whole number 1..{MAX_LIMIT}")
        account = None if contact is None else self.contact(contact).account
        return self._st.history.newest(account, limit)

    def session_count(self) -> int:
        return self._st.sessions.count()

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
        with self._txn() as st:
            return links.export_link(st, now, restore=restore)

    def announce(self) -> bytes | None:
        """A HELLO to every other own installation (after linking or a restore),
        with this installation's bundle attached; None if there is none."""
        now = self.clock()
        with self._txn() as st:
            return sending.announce(st, now)
