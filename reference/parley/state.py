"""Saving and loading state in the local format (spec: storage.md).

The format is ``parley.local.v1`` (proto/parley/local/v1/state.proto). Every
record carries a ``format_version``; a loader refuses a newer one and a
corrupt record with StateFormatError, and never returns a half-loaded
object. SK is never part of any record (STORE-004).
"""

from __future__ import annotations

import functools

from google.protobuf.message import DecodeError

from .errors import ParleyError, SessionStateError, StateFormatError
from .keys import (
    IdentityKey,
    IdentityKeyPair,
    InstallationKeys,
    OneTimePreKey,
    SignedPreKey,
)
from .local.v1 import state_pb2 as pb
from .primitives import DHKeyPair, SigningKeyPair
from .profile import get_profile
from .ratchet import ChainKey, DoubleRatchet, RootKey
from .session import Session
from .versioning import CURRENT_POLICY, VersionPolicy

__all__ = [
    "FORMAT_VERSION",
    "dump_identity",
    "dump_installation",
    "dump_session",
    "load_identity",
    "load_installation",
    "load_session",
]

FORMAT_VERSION = 1


def _parse(cls, data: bytes, what: str):
    if not isinstance(data, bytes):
        raise StateFormatError(f"{what} state must be bytes")
    try:
        record = cls.FromString(data)
    except DecodeError:
        raise StateFormatError(f"{what} state is corrupt") from None
    if record.format_version != FORMAT_VERSION:
        raise StateFormatError(
            f"{what} state has format version {record.format_version}; "
            f"this implementation reads {FORMAT_VERSION}"
        )
    return record


# -- identity -----------------------------------------------------------------


def dump_identity(identity: IdentityKeyPair, profile_id: int = 1) -> bytes:
    return pb.IdentityState(
        format_version=FORMAT_VERSION,
        profile=profile_id,
        signing_private_key=identity.signing.private_bytes(),
        dh_private_key=identity.dh.private_bytes(),
        binding_signature=identity.public.binding_signature,
    ).SerializeToString()


def load_identity(data: bytes) -> IdentityKeyPair:
    record = _parse(pb.IdentityState, data, "identity")
    try:
        profile = get_profile(record.profile)
        identity = IdentityKeyPair(
            SigningKeyPair.from_private_bytes(record.signing_private_key),
            DHKeyPair.from_private_bytes(record.dh_private_key),
            record.binding_signature,
        )
        identity.public.verify(profile)
    except ParleyError as exc:
        raise StateFormatError(f"identity state is invalid: {exc.message}") from None
    return identity


# -- installation -------------------------------------------------------------


def _in_range(dump):
    """A value the record cannot hold (a counter past 2^32 - 1) is a typed error."""

    @functools.wraps(dump)
    def checked(value):
        try:
            return dump(value)
        except (ValueError, TypeError, OverflowError):
            raise SessionStateError(
                f"cannot save this {type(value).__name__}: a number is outside its range"
            ) from None

    return checked


@_in_range
def dump_installation(installation: InstallationKeys) -> bytes:
    record = pb.InstallationState(
        format_version=FORMAT_VERSION,
        installation_id=installation.installation_id,
        next_prekey_id=installation.next_prekey_id,
    )
    for spk in installation.signed_prekeys:
        record.signed_prekeys.add(
            id=spk.id,
            private_key=spk.key_pair.private_bytes(),
            created_at=spk.created_at,
            superseded_at=spk.superseded_at,
        )
    for opk in installation.one_time_prekeys.values():
        record.one_time_prekeys.add(id=opk.id, private_key=opk.key_pair.private_bytes())
    for prekey_id in sorted(installation.seen_initial_messages):
        for key in sorted(installation.seen_initial_messages[prekey_id]):
            record.seen_initial_messages.add(signed_prekey_id=prekey_id, ephemeral_key=key)
    return record.SerializeToString(deterministic=True)


def load_installation(data: bytes) -> InstallationKeys:
    record = _parse(pb.InstallationState, data, "installation")
    try:
        seen: dict[int, set[bytes]] = {}
        for entry in record.seen_initial_messages:
            seen.setdefault(entry.signed_prekey_id, set()).add(entry.ephemeral_key)
        return InstallationKeys(
            record.installation_id,
            [
                SignedPreKey(
                    s.id, DHKeyPair.from_private_bytes(s.private_key), s.created_at, s.superseded_at
                )
                for s in record.signed_prekeys
            ],
            {
                o.id: OneTimePreKey(o.id, DHKeyPair.from_private_bytes(o.private_key))
                for o in record.one_time_prekeys
            },
            record.next_prekey_id,
            seen,
        )
    except ParleyError as exc:
        raise StateFormatError(f"installation state is invalid: {exc.message}") from None


# -- session ------------------------------------------------------------------


@_in_range
def dump_session(session: Session) -> bytes:
    ratchet = session.ratchet
    record = pb.SessionState(
        format_version=FORMAT_VERSION,
        profile=ratchet.profile.id,
        version=ratchet.version,
        initiator=session.initiator,
        local_identity=session.local_identity.to_bytes(),
        remote_identity=session.remote_identity.keys + session.remote_identity.binding_signature,
        local_installation_id=session.local_installation_id,
        remote_installation_id=session.remote_installation_id,
        root_key=ratchet.root_key.key,
        sending_ratchet_private_key=ratchet.sending_ratchet.private_bytes(),
        previous_sending_chain_length=ratchet.previous_sending_chain_length,
        ephemeral_key=session.ephemeral_key,
    )
    if ratchet.sending_chain is not None:
        record.sending_chain_key = ratchet.sending_chain.key
        record.sending_message_number = ratchet.sending_chain.index
    if ratchet.receiving_ratchet_key is not None:
        record.receiving_ratchet_key = ratchet.receiving_ratchet_key
    if ratchet.receiving_chain is not None:
        record.receiving_chain_key = ratchet.receiving_chain.key
        record.receiving_message_number = ratchet.receiving_chain.index
    for (ratchet_key, number), key in ratchet.skipped.items():
        record.skipped_message_keys.add(
            ratchet_key=ratchet_key, message_number=number, message_key=key
        )
    for ratchet_key, length in ratchet.retired_chains:
        record.retired_chains.add(ratchet_key=ratchet_key, length=length)
    if session.pending_x3dh is not None:
        signed_prekey_id, one_time_prekey_id = session.pending_x3dh
        record.pending_x3dh.signed_prekey_id = signed_prekey_id
        if one_time_prekey_id is not None:
            record.pending_x3dh.one_time_prekey_id = one_time_prekey_id
    return record.SerializeToString()


def _key32(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise StateFormatError(f"session state: {what} must be 32 bytes, got {len(value)}")
    return value


def load_session(data: bytes, policy: VersionPolicy = CURRENT_POLICY) -> Session:
    record = _parse(pb.SessionState, data, "session")
    try:
        profile = get_profile(record.profile)
        remote = record.remote_identity
        ratchet = DoubleRatchet(
            profile,
            record.version,
            b"",
            RootKey(_key32(record.root_key, "root key")),
            DHKeyPair.from_private_bytes(record.sending_ratchet_private_key),
            ChainKey(
                _key32(record.sending_chain_key, "sending chain key"), record.sending_message_number
            )
            if record.sending_chain_key
            else None,
            _key32(record.receiving_ratchet_key, "receiving ratchet key")
            if record.receiving_ratchet_key
            else None,
            ChainKey(
                _key32(record.receiving_chain_key, "receiving chain key"),
                record.receiving_message_number,
            )
            if record.receiving_chain_key
            else None,
            record.previous_sending_chain_length,
            {
                (_key32(s.ratchet_key, "skipped ratchet key"), s.message_number): _key32(
                    s.message_key, "skipped message key"
                )
                for s in record.skipped_message_keys
            },
            [
                (_key32(r.ratchet_key, "retired ratchet key"), r.length)
                for r in record.retired_chains
            ],
        )
        pending = None
        if record.HasField("pending_x3dh"):
            p = record.pending_x3dh
            pending = (
                p.signed_prekey_id,
                p.one_time_prekey_id if p.HasField("one_time_prekey_id") else None,
            )
        session = Session(
            ratchet,
            initiator=record.initiator,
            local_identity=IdentityKey.from_bytes(record.local_identity),
            remote_identity=IdentityKey.from_bytes(remote),
            local_installation_id=record.local_installation_id,
            remote_installation_id=record.remote_installation_id,
            ephemeral_key=_key32(record.ephemeral_key, "ephemeral key"),
            pending_x3dh=pending,
            policy=policy,
        )
        # STORE-010: both identities' bindings verify (KEYS-003)
        session.local_identity.verify(profile)
        session.remote_identity.verify(profile)
        from .x3dh import associated_data

        if session.initiator:
            ad = associated_data(
                session.local_identity,
                session.local_installation_id,
                session.remote_identity,
                session.remote_installation_id,
            )
        else:
            ad = associated_data(
                session.remote_identity,
                session.remote_installation_id,
                session.local_identity,
                session.local_installation_id,
            )
        ratchet.associated_data = ad
    except StateFormatError:
        raise
    except ParleyError as exc:
        raise StateFormatError(f"session state is invalid: {exc.message}") from None
    return session
