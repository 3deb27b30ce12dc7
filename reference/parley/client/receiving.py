"""Receiving: one envelope in, events out (SESSION-010, SESSION-020, NOBUNDLE-020).

:func:`receive` runs inside the caller's store transaction: the ratchet
step, the replay caches and the history row are committed together, or not
at all. Bad input from the network never raises; it becomes an event.
"""

from __future__ import annotations

from ..codec import InstallationMessage, decode_envelope, decode_ratchet_message
from ..errors import ParleyError, RemoteError
from ..no_bundle import open_no_bundle
from ..ratchet import SkipBudget
from ..session import Session
from ..state import session_policy
from . import payload as P
from .decisions import HELLO as DECIDE_HELLO
from .decisions import (
    OWN_ENVELOPE,
    PENDING_FULL,
    RESET_REASONS,
    SessionCandidate,
    choose_session,
    failure_action,
    reuses_chosen,
    select_copy,
)
from .decisions import RESET as DECIDE_RESET
from .directory import (
    INSTALLATION_CLAIMED,
    MAX_PENDING_INSTALLATIONS,
    PENDING_MESSAGE_BUDGET,
)
from .events import (
    Event,
    IdentityChanged,
    InstallationAdded,
    MessageBlocked,
    MessageReceived,
    MessageSynced,
    SessionReset,
    UndecryptableMessage,
)
from .replay import envelope_key, no_bundle_key, no_bundle_message_key
from .sending import envelope, start_session
from .stores import Stores

__all__ = ["RESET_INTERVAL", "RESET_REASONS", "receive"]

#: At most one RESET or HELLO per peer installation in this many seconds (SESSION-020).
RESET_INTERVAL = 10 * 60


class _NoBundleReplayCache:
    """The ephemeral keys of accepted no-bundle messages, as the store holds them
    (NOBUNDLE-020), for open_no_bundle to check before any DH (NOBUNDLE-011)."""

    def __init__(self, st: Stores) -> None:
        self._st = st

    def __contains__(self, ephemeral_key: object) -> bool:
        return self._st.seen.lookup(no_bundle_key(bytes(ephemeral_key)))[0]  # type: ignore[arg-type]


def receive(st: Stores, data: bytes, now: int, *, prune: bool = True) -> list[Event]:
    """Process one envelope (already checked to be bytes). A batch passes
    ``prune=False`` and prunes the replay caches once, at its end."""
    key = envelope_key(data)
    seen, message = st.seen.lookup(key)
    if seen:
        # Processed before. If it gave a message, report it again: the
        # caller may have crashed before it saw it (at-least-once).
        return _redelivery(st, message) if message is not None else []
    st.local.maintain(st.rng, now)
    step = _Receive(st, now)
    events = step.envelope(data)
    if step.decoded:  # bytes that are no envelope change nothing: no need to remember them
        st.seen.record(key, now, step.message_row)
        if prune:
            st.seen.prune(now)
    return events


def _redelivery(st: Stores, rowid: int) -> list[Event]:
    entry = st.history.get(rowid)
    if entry is None:
        return []
    peer = st.directory.row(entry.account)
    name = peer.name if peer else None
    if entry.direction == "in":
        return [
            MessageReceived(
                entry.account,
                entry.installation,
                entry.body,
                entry.forward_secret,
                entry.message_id,
                entry.at,
                name,
                redelivered=True,
            )
        ]
    return [
        MessageSynced(
            entry.account, entry.installation, entry.body, entry.message_id, entry.at, name, True
        )
    ]


def _once_per_account(events: list[Event]) -> list[Event]:
    """One IdentityChanged per account and envelope (its bundle and its message may
    both show the new identity); the first says whether a verified mark was lost."""
    seen: set[bytes] = set()
    out: list[Event] = []
    for event in events:
        if isinstance(event, IdentityChanged):
            if event.account in seen:
                continue
            seen.add(event.account)
        out.append(event)
    return out


class _Receive:
    """The processing of one envelope; ``message_row`` is the history row it gave."""

    def __init__(self, st: Stores, now: int) -> None:
        self.st = st
        self.now = now
        self.message_row: int | None = None
        self.decoded = False

    def envelope(self, data: bytes) -> list[Event]:
        st, now = self.st, self.now
        try:
            env = decode_envelope(data, st.policy, st.profile)
        except ParleyError as exc:
            return [UndecryptableMessage(None, None, exc.code)]
        self.decoded = True
        sender_iid = env.sender_installation_id
        selection, index = select_copy(env, st.installation_id)  # MULTI-003
        if selection == OWN_ENVELOPE:
            return []
        events: list[Event] = []
        bundle = env.sender_bundle
        bundle_account = bundle.identity.signing_key if bundle is not None else None
        bundle_done = False
        if bundle is not None and st.directory.row(bundle_account) is not None:
            # A known account's bundle first, so a reset below uses the newest one.
            events += st.directory.accept_bundle(bundle, None, now, st.profile)
            bundle_done = True
        copy = None if index is None else env.messages[index]
        sender: bytes | None = None
        failure: str | None = None
        wants_session = False
        if copy is None:
            failure = "NOT_ADDRESSED"
        elif copy.kind == "no_bundle":
            sender, failure, more, wants_session = self.no_bundle(copy.body, sender_iid)
            events += more
        else:
            sender, failure, more = self.ratchet(copy.body, sender_iid)
            events += more
        if bundle is not None and not bundle_done and sender == bundle_account:
            events[:0] = st.directory.accept_bundle(bundle, sender, now, st.profile)
        if wants_session and sender is not None and not st.directory.is_blocked(sender):
            # A no-bundle RESET: the peer has no usable bundle of ours and no
            # session: start one from the bundle it attached.
            reply = self.reset(sender, sender_iid, P.HELLO, fresh=True)
            events.append(SessionReset(sender, sender_iid, reply))
        if failure is not None:
            if sender is None:
                if (
                    bundle is not None
                    and sender_iid in bundle.installation_ids
                    and st.directory.row(bundle_account) is not None
                ):
                    sender = bundle_account
                if sender is None:
                    sender = st.directory.owner_of(sender_iid)
            reset = None
            action = failure_action(failure)
            blocked = sender is not None and st.directory.is_blocked(sender)
            if sender is not None and not blocked and action in (DECIDE_RESET, DECIDE_HELLO):
                kind = P.HELLO if action == DECIDE_HELLO else P.RESET
                reset = self.reset(sender, sender_iid, kind)
            events.append(UndecryptableMessage(sender, sender_iid, failure, reset))
        return _once_per_account(events)

    def no_bundle(
        self, body: bytes, sender_iid: bytes
    ) -> tuple[bytes | None, str | None, list[Event], bool]:
        st, now = self.st, self.now
        try:
            opened = open_no_bundle(
                st.local.identity,
                body,
                sender_iid,
                replay_cache=_NoBundleReplayCache(st),  # NOBUNDLE-020, before any DH
                policy=st.policy,
                profile=st.profile,
            )
            payload = P.decode_payload(opened.plaintext)
        except ParleyError as exc:
            return None, exc.code, [], False
        sender = opened.sender.signing_key
        key = no_bundle_key(opened.ephemeral_key)
        message_key = no_bundle_message_key(sender, payload.message_id)
        if (
            st.seen.lookup(key)[0]
            or st.seen.lookup(message_key)[0]
            or (payload.kind == P.TEXT and st.history.has_received(sender, payload.message_id))
        ):
            return sender, "REPLAYED_INITIAL_MESSAGE", [], False  # NOBUNDLE-020
        row = st.directory.row(sender)
        if row is None and sender != st.account_id and not st.directory.admits_pending(now):
            return None, PENDING_FULL, [], False  # NOBUNDLE-021: refused, nothing kept
        st.seen.record(key, now)
        st.seen.record(message_key, now)  # outlives a forgotten pending sender
        if sender == st.account_id:
            return sender, None, [], False
        if row is None:
            st.directory.add_pending(opened.sender, now)  # NOBUNDLE-021
        elif row.identity != opened.sender.to_bytes():
            changed = st.directory.identity_mismatch(sender, sender_iid, opened.sender)
            return sender, "IDENTITY_MISMATCH", [changed] if changed else [], False
        if payload.kind == P.TEXT:
            return sender, None, [self.deliver_text(sender, sender_iid, payload, False)], False
        return sender, None, [], payload.kind == P.RESET

    def ratchet(
        self, body: bytes, sender_iid: bytes
    ) -> tuple[bytes | None, str | None, list[Event]]:
        st, now = self.st, self.now
        sessions = st.sessions.to_try(sender_iid)
        # STORE-013: a saved session reads its own version besides the policy's
        policy = st.policy
        for _rowid, session, _active in sessions:
            policy = session_policy(policy, session.version)
        try:
            decoded = decode_ratchet_message(body, policy, st.profile)
        except ParleyError as exc:
            return None, exc.code, []
        header = decoded.x3dh_header
        # SESSION-011: one bound on the keys derived to skip, over all the
        # sessions tried; only error codes are kept (no state of a failed try).
        budget = SkipBudget(st.profile.max_skip_per_message)
        errors: list[str] = []
        for rowid, session, active in sessions:
            if header is not None and not session.accepts(decoded):
                continue
            try:
                plaintext = session.decrypt(decoded, st.rng, budget)
            except RemoteError as exc:
                errors.append(exc.code)
                continue
            st.sessions.save(rowid, session)
            account = session.remote_identity.signing_key
            if active:  # SESSION-010: the chosen session decrypted; drop the others
                st.sessions.keep_only(account, sender_iid, rowid)
            return account, None, self.payload(account, sender_iid, plaintext)
        if header is None or errors:  # no session, or the session of this header failed
            if not errors:
                return st.directory.owner_of(sender_iid), "NO_SESSION", []
            owner = sessions[0][1].remote_identity.signing_key
            code = "DUPLICATE_MESSAGE" if "DUPLICATE_MESSAGE" in errors else errors[0]
            return owner, code, []
        # An initial message of a new session.
        initiator = header.initiator_identity.signing_key
        if (
            initiator != st.account_id
            and st.directory.row(initiator) is None
            and not st.directory.admits_pending(now)
        ):
            return None, PENDING_FULL, []  # NOBUNDLE-021: refused before any DH
        if st.directory.claimed_by_other(initiator, sender_iid):
            return None, INSTALLATION_CLAIMED, []  # MULTI-005: no session, no reset
        pending = st.directory.row(initiator)
        if (
            pending is not None
            and pending.pending
            and not st.directory.has_installation(initiator, sender_iid)
            and st.directory.installation_count(initiator) >= MAX_PENDING_INSTALLATIONS
        ):
            return None, PENDING_FULL, []  # NOBUNDLE-021: a pending contact's installations
        try:
            session, plaintext = Session.respond(
                st.local.identity,
                st.local.keys,
                decoded,
                sender_iid,
                rng=st.rng,
                profile=st.profile,
                policy=st.policy,
            )
        except RemoteError as exc:
            sender = header.initiator_identity.signing_key
            known = st.directory.row(sender) is not None
            if (
                known
                and exc.code == "REPLAYED_INITIAL_MESSAGE"
                and not any(s.remote_identity.signing_key == sender for _, s, _ in sessions)
            ):
                # The guard holds its key but no session of that sender is left
                # (it was dropped here): the peer is cut off, not replaying;
                # answer as to a message without a session (SESSION-020).
                return sender, "NO_SESSION", []
            return (sender if known else None), exc.code, []
        st.local.save()  # replay guard, used one-time prekey (PREKEY-005)
        account = session.remote_identity.signing_key
        row = st.directory.row(account)
        if row is None:
            st.directory.add_pending(session.remote_identity, now)  # NOBUNDLE-021
        elif row.identity != session.remote_identity.to_bytes():
            changed = st.directory.identity_mismatch(account, sender_iid, session.remote_identity)
            return account, "IDENTITY_MISMATCH", [changed] if changed else []
        events: list[Event] = []
        if st.directory.ensure_installation(account, sender_iid, now):
            events.append(InstallationAdded(account, sender_iid, account == st.account_id))
        # SESSION-010: the newest session sends, unless both sides initiated at
        # once: then both keep the one with the lower session id.
        found = st.sessions.active(account, sender_iid)
        current = found[1] if found is not None else None
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
        st.sessions.insert(session, activate, now)
        return account, None, events + self.payload(account, sender_iid, plaintext)

    def payload(self, account: bytes, iid: bytes, data: bytes) -> list[Event]:
        st, now = self.st, self.now
        try:
            payload = P.decode_payload(data)
        except ParleyError:
            return [UndecryptableMessage(account, iid, "MALFORMED_MESSAGE")]
        own = account == st.account_id
        if not own:
            st.directory.mark_replied(account)
        if payload.kind == P.TEXT and not own:
            return [self.deliver_text(account, iid, payload, True)]
        if payload.kind == P.SENT and own and payload.peer is not None:
            peer = st.directory.row(payload.peer)
            self.message_row = st.history.add(
                payload.message_id, now, "out", payload.peer, iid, payload.body, True
            )
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

    def deliver_text(
        self, account: bytes, iid: bytes, payload: P.Payload, forward_secret: bool
    ) -> MessageReceived | MessageBlocked:
        st, now = self.st, self.now
        if st.directory.is_blocked(account):  # dropped unread: no history row
            return MessageBlocked(account, iid, payload.message_id)
        row = st.directory.row(account)
        self.message_row = st.history.add(
            payload.message_id, now, "in", account, iid, payload.body, forward_secret
        )
        if row is not None and row.pending:  # NOBUNDLE-021: a pending contact's budget
            st.history.trim(account, PENDING_MESSAGE_BUDGET)
        return MessageReceived(
            account,
            iid,
            payload.body,
            forward_secret,
            payload.message_id,
            now,
            row.name if row else None,
        )

    def reset(self, account: bytes, iid: bytes, kind: int, fresh: bool = False) -> bytes | None:
        """SESSION-020: a new session with the peer's installation, from its newest
        bundle, announced by a RESET (or HELLO) message; None if no bundle serves.

        A reset session still waiting for its reply is reused, so a burst of
        undecryptable messages starts one session, not one each; and at most one
        RESET or HELLO goes to a peer installation per RESET_INTERVAL, so that
        envelopes forged "from" a public installation id cannot make this
        installation start sessions and send at will. A HELLO that answers a
        no-bundle RESET (``fresh``: authenticated by the peer's identity key)
        is not limited.
        """
        st, now = self.st, self.now
        if not fresh:
            last = st.directory.reset_at(account, iid)
            if last and now - last < RESET_INTERVAL:
                return None
        current = st.sessions.active(account, iid)
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
            started = start_session(st, account, iid, now)
            if started is None:
                return None
            rowid, session = started
        body = session.encrypt(
            P.encode_payload(P.Payload(kind, st.rng.random_bytes(P.MESSAGE_ID_SIZE)))
        )
        st.sessions.save(rowid, session)
        copy = InstallationMessage(iid, "ratchet", body)
        data = envelope(st, [copy], st.directory.row(account), now, force_bundle=True)
        st.outbox.add(data, account, now)  # committed with the ratchet step
        st.directory.mark_reset(account, iid, now)
        return data
