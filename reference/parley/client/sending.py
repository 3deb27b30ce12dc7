"""Sending: one copy per addressed installation (FANOUT-001), in one envelope.

These steps run inside the caller's store transaction; the advanced ratchet
states are stored before the envelope is returned.
"""

from __future__ import annotations

from ..codec import ENVELOPE_FORMAT_VERSION, Envelope, InstallationMessage, encode_envelope
from ..errors import ParleyError, RemoteError, SessionStateError
from ..no_bundle import seal_no_bundle
from ..session import Session
from . import payload as P
from .directory import AccountRow, Contact
from .errors import CannotSend
from .stores import Stores

__all__ = ["announce", "envelope", "send_text", "start_session"]


def start_session(st: Stores, account: bytes, iid: bytes, now: int) -> tuple[int, Session] | None:
    """A new session (X3DH) with the peer's installation from its newest bundle,
    stored; None if no bundle serves (none known, stale, or refused)."""
    bundle = st.directory.bundle_for(account, iid, now, st.local.identity, st.profile)
    if bundle is None:
        return None
    try:
        session = Session.initiate(
            st.local.identity,
            st.installation_id,
            bundle,
            iid,
            now=now,
            rng=st.rng,
            profile=st.profile,
            policy=st.policy,
        )
    except RemoteError:
        return None
    rowid = st.sessions.insert(session, True, now)
    st.directory.ensure_installation(account, iid, now)
    return rowid, session


def sending_session(st: Stores, account: bytes, iid: bytes, now: int) -> tuple[int, Session] | None:
    """The session to send with (SESSION-010), started from a bundle if needed."""
    return st.sessions.active(account, iid) or start_session(st, account, iid, now)


def encrypt_for(
    st: Stores, account: bytes, iid: bytes, data: bytes, now: int
) -> InstallationMessage | None:
    try:
        found = sending_session(st, account, iid, now)
    except RemoteError:
        return None
    if found is None:
        return None
    rowid, session = found
    try:
        body = session.encrypt(data)
    except SessionStateError:
        # The chosen session has no message number left (2^32 - 1 sent): a new
        # session from the peer's bundle takes over, as after a reset.
        started = start_session(st, account, iid, now)
        if started is None:
            return None
        rowid, session = started
        body = session.encrypt(data)
    st.sessions.save(rowid, session)  # the advanced chain is committed with the send
    return InstallationMessage(iid, "ratchet", body)


def sibling_copies(st: Stores, payload: P.Payload, now: int) -> list[InstallationMessage]:
    data = P.encode_payload(payload)
    copies = []
    for iid, _b, _pk, _fs in st.directory.sibling_rows():
        copy = encrypt_for(st, st.account_id, iid, data, now)
        if copy is not None:
            copies.append(copy)
    return copies


def envelope(
    st: Stores,
    copies: list[InstallationMessage],
    peer: AccountRow | None,
    now: int,
    force_bundle: bool = False,
) -> bytes:
    """One envelope; the own bundle is attached when the peer has not replied yet,
    holds an older one, or the copy needs it (BUNDLE-030, NOBUNDLE-003)."""
    own = st.own_bundle(now)
    me = st.directory.row(st.account_id)
    assert me is not None
    attach = force_bundle
    has_siblings = any(
        c.recipient_installation_id is not None
        and st.directory.has_installation(st.account_id, c.recipient_installation_id)
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
        accounts = {st.account_id} | ({peer.account} if peer is not None else set())
        st.directory.mark_bundle_sent(accounts, own.timestamp)
    return encode_envelope(
        Envelope(
            ENVELOPE_FORMAT_VERSION,  # VERSION-004: not the protocol version
            st.installation_id,
            tuple(copies),
            own if attach else None,
        )
    )


def send_text(
    st: Stores, target: Contact, message_id: bytes, plaintext: bytes, now: int
) -> tuple[bytes, bool]:
    """The envelope of one text message to ``target`` and whether it is forward secret."""
    to_peer = P.encode_payload(P.Payload(P.TEXT, message_id, plaintext))
    copies = []
    for iid in target.installations:
        copy = encrypt_for(st, target.account, iid, to_peer, now)
        if copy is not None:
            copies.append(copy)
    forward_secret = bool(copies)
    if not copies:
        try:
            sealed = seal_no_bundle(
                st.local.identity,
                st.installation_id,
                target.identity,
                to_peer,
                rng=st.rng,
                version=st.policy.writes,
                profile=st.profile,
            )
        except ParleyError as exc:
            raise CannotSend(f"cannot encrypt for this contact [{exc.code}]") from None
        copies.append(InstallationMessage(None, "no_bundle", sealed))
    copies += sibling_copies(st, P.Payload(P.SENT, message_id, plaintext, target.account), now)
    row = st.directory.row(target.account)
    data = envelope(st, copies, row, now, force_bundle=not forward_secret)
    if len(data) > st.profile.max_message_size:
        # WIRE-042: the limit holds for the whole fan-out. Raising here
        # rolls the transaction back: no chain key has advanced.
        raise CannotSend(
            f"the envelope for {len(copies)} installations would be {len(data)} "
            f"bytes, above the {st.profile.max_message_size}-byte limit: "
            "send a shorter message"
        )
    st.outbox.add(data, target.account, now)  # committed with the advanced chains
    return data, forward_secret


def announce(st: Stores, now: int) -> bytes | None:
    """A HELLO to every other own installation, with the bundle; None if none."""
    copies = sibling_copies(st, P.Payload(P.HELLO, st.rng.random_bytes(P.MESSAGE_ID_SIZE)), now)
    if not copies:
        return None
    data = envelope(st, copies, None, now, force_bundle=True)
    st.outbox.add(data, st.account_id, now)
    return data
