"""Sessions: X3DH, then the Double Ratchet, over wire bytes (spec: session.md).

A :class:`Session` is one Double Ratchet session between one local
installation and one installation of a peer. Bytes in, bytes out: it never
touches a file, a socket or a clock; randomness and time are passed in.

* :meth:`Session.initiate` runs X3DH against a verified bundle; every message
  it encrypts carries the X3DH header until the peer's first reply.
* :meth:`Session.respond` runs X3DH from an initial message and decrypts it;
  only if that succeeds does it change the installation (replay guard,
  one-time prekey deleted).
* :meth:`Session.decrypt` is transactional: a rejected message changes nothing.
"""

from __future__ import annotations

from .bundle import Bundle
from .codec import (
    DecodedRatchetMessage,
    X3DHHeader,
    decode_ratchet_message,
    encode_ratchet_message,
    encode_x3dh_header,
)
from .errors import (
    InvalidArgument,
    MalformedMessage,
    ReplayedInitialMessage,
    UnknownPreKey,
)
from .keys import IdentityKey, IdentityKeyPair, InstallationKeys, check_installation_id
from .primitives import DHKeyPair, Random, SystemRandom
from .profile import PROFILE_1, Profile
from .ratchet import DoubleRatchet, SkipBudget
from .versioning import CURRENT_POLICY, VersionPolicy, negotiate
from .x3dh import associated_data, initiator_agreement, responder_agreement

__all__ = ["Session"]

_SYSTEM_RANDOM = SystemRandom()


class Session:
    """A Double Ratchet session with one installation of a peer."""

    __slots__ = (
        "ephemeral_key",
        "initiator",
        "local_identity",
        "local_installation_id",
        "pending_x3dh",
        "policy",
        "ratchet",
        "remote_identity",
        "remote_installation_id",
    )

    def __init__(
        self,
        ratchet: DoubleRatchet,
        *,
        initiator: bool,
        local_identity: IdentityKey,
        remote_identity: IdentityKey,
        local_installation_id: bytes,
        remote_installation_id: bytes,
        ephemeral_key: bytes,
        pending_x3dh: tuple[int, int | None] | None = None,
        policy: VersionPolicy = CURRENT_POLICY,
    ) -> None:
        self.ratchet = ratchet
        self.initiator = initiator
        self.local_identity = local_identity
        self.remote_identity = remote_identity
        self.local_installation_id = local_installation_id
        self.remote_installation_id = remote_installation_id
        self.ephemeral_key = ephemeral_key
        #: (signed prekey id, one-time prekey id) until the first reply.
        self.pending_x3dh = pending_x3dh
        self.policy = policy

    # -- starting a session --------------------------------------------------

    @classmethod
    def initiate(
        cls,
        identity: IdentityKeyPair,
        local_installation_id: bytes,
        bundle: Bundle,
        remote_installation_id: bytes,
        *,
        now: int,
        rng: Random = _SYSTEM_RANDOM,
        one_time_prekey_id: int | None = None,
        profile: Profile = PROFILE_1,
        policy: VersionPolicy = CURRENT_POLICY,
    ) -> Session:
        """Start a session with one installation of ``bundle`` (X3DH-001).

        The bundle is verified against ``now`` first (BUNDLE-011, BUNDLE-020).
        A one-time prekey is used only when ``one_time_prekey_id`` names one.
        """
        check_installation_id(local_installation_id)
        bundle.verify(now, profile)
        entry = bundle.installation(remote_installation_id)
        version = negotiate(policy, entry.protocol_versions)
        one_time_prekey = None
        if one_time_prekey_id is not None:
            one_time_prekey = entry.one_time_prekey(one_time_prekey_id)
            if one_time_prekey is None:
                raise UnknownPreKey("the bundle entry has no such one-time prekey")
        ephemeral = DHKeyPair.generate(rng)
        agreement = initiator_agreement(
            profile, identity, ephemeral, bundle.identity, entry.signed_prekey, one_time_prekey
        )
        ad = associated_data(
            identity.public, local_installation_id, bundle.identity, remote_installation_id
        )
        ratchet = DoubleRatchet.initiator(
            profile, version, agreement.shared_key, entry.signed_prekey, ad, rng
        )
        return cls(
            ratchet,
            initiator=True,
            local_identity=identity.public,
            remote_identity=bundle.identity,
            local_installation_id=local_installation_id,
            remote_installation_id=remote_installation_id,
            ephemeral_key=ephemeral.public,
            pending_x3dh=(entry.signed_prekey_id, one_time_prekey_id),
            policy=policy,
        )

    @classmethod
    def respond(
        cls,
        identity: IdentityKeyPair,
        installation: InstallationKeys,
        message: bytes | DecodedRatchetMessage,
        remote_installation_id: bytes,
        *,
        rng: Random = _SYSTEM_RANDOM,
        profile: Profile = PROFILE_1,
        policy: VersionPolicy = CURRENT_POLICY,
    ) -> tuple[Session, bytes]:
        """Accept an initial message: run X3DH, decrypt, and only then commit.

        Raises ReplayedInitialMessage for an initial message already accepted
        (X3DH-040) and UnknownPreKey for a prekey that is gone (X3DH-041).
        """
        check_installation_id(remote_installation_id, MalformedMessage)
        decoded = (
            message
            if isinstance(message, DecodedRatchetMessage)
            else decode_ratchet_message(message, policy, profile)
        )
        header = decoded.x3dh_header
        if header is None:
            raise MalformedMessage("not an initial message: no X3DH header")
        header.initiator_identity.verify(profile)
        if installation.is_replay(header.signed_prekey_id, header.ephemeral_key):
            raise ReplayedInitialMessage("this initial message was already accepted")
        signed_prekey = installation.signed_prekey(header.signed_prekey_id)
        if signed_prekey is None:
            raise UnknownPreKey("unknown or deleted signed prekey")
        one_time_prekey = None
        if header.one_time_prekey_id is not None:
            one_time_prekey = installation.one_time_prekeys.get(header.one_time_prekey_id)
            if one_time_prekey is None:
                raise UnknownPreKey("unknown or already used one-time prekey")
        agreement = responder_agreement(
            profile,
            identity,
            signed_prekey.key_pair,
            one_time_prekey.key_pair if one_time_prekey else None,
            header.initiator_identity,
            header.ephemeral_key,
        )
        ad = associated_data(
            header.initiator_identity,
            remote_installation_id,
            identity.public,
            installation.installation_id,
        )
        ratchet = DoubleRatchet.responder(
            profile, decoded.header.version, agreement.shared_key, signed_prekey.key_pair, ad
        )
        plaintext = ratchet.decrypt(
            decoded.header, decoded.ciphertext, decoded.mac, rng, decoded.x3dh_raw
        )
        # The message is authentic: now, and only now, change the installation.
        installation.record_initial_message(header.signed_prekey_id, header.ephemeral_key)
        if one_time_prekey is not None:
            del installation.one_time_prekeys[one_time_prekey.id]  # PREKEY-005
        session = cls(
            ratchet,
            initiator=False,
            local_identity=identity.public,
            remote_identity=header.initiator_identity,
            local_installation_id=installation.installation_id,
            remote_installation_id=remote_installation_id,
            ephemeral_key=header.ephemeral_key,
            policy=policy,
        )
        return session, plaintext

    # -- messages --------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        return self.ratchet.profile

    @property
    def version(self) -> int:
        return self.ratchet.version

    @property
    def session_id(self) -> bytes:
        """EK_A, the initiator's ephemeral key: the same on both sides."""
        return self.ephemeral_key

    def x3dh_header(self) -> X3DHHeader | None:
        """The X3DH header sent with every message until the first reply."""
        if self.pending_x3dh is None:
            return None
        signed_prekey_id, one_time_prekey_id = self.pending_x3dh
        return X3DHHeader(
            self.local_identity, self.ephemeral_key, signed_prekey_id, one_time_prekey_id
        )

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt one message: the encoded RatchetMessage to send."""
        if type(plaintext) is not bytes:
            raise InvalidArgument("plaintext must be bytes")
        if self.pending_x3dh is None:
            header, ciphertext, mac = self.ratchet.encrypt(plaintext)
            return encode_ratchet_message(header, ciphertext, mac)
        x3dh = encode_x3dh_header(self.x3dh_header())
        header, ciphertext, mac = self.ratchet.encrypt(plaintext, x3dh)
        return encode_ratchet_message(header, ciphertext, mac, x3dh)

    def accepts(self, message: DecodedRatchetMessage) -> bool:
        """Whether ``message`` belongs to this session as far as its X3DH header tells."""
        header = message.x3dh_header
        return header is None or (not self.initiator and header.ephemeral_key == self.ephemeral_key)

    def decrypt(
        self,
        message: bytes | DecodedRatchetMessage,
        rng: Random = _SYSTEM_RANDOM,
        budget: SkipBudget | None = None,
    ) -> bytes:
        """Decrypt one RatchetMessage. On any error the session is unchanged.

        ``budget`` bounds the keys derived to skip when one message is tried in
        several sessions (SESSION-011).
        """
        decoded = (
            message
            if isinstance(message, DecodedRatchetMessage)
            else decode_ratchet_message(message, self.policy, self.ratchet.profile)
        )
        if decoded.x3dh_header is not None and not self.accepts(decoded):
            raise MalformedMessage("the X3DH header belongs to another session")
        plaintext = self.ratchet.decrypt(
            decoded.header, decoded.ciphertext, decoded.mac, rng, decoded.x3dh_raw, budget
        )
        self.pending_x3dh = None  # a reply arrived: stop sending the X3DH header
        return plaintext

    # -- saving ------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The session in the local state format (parley.local.v1.SessionState)."""
        from .state import dump_session

        return dump_session(self)

    @classmethod
    def from_bytes(cls, data: bytes, policy: VersionPolicy = CURRENT_POLICY) -> Session:
        """Load a saved session; ``policy`` says which versions it reads from now on."""
        from .state import load_session

        return load_session(data, policy)

    def __repr__(self) -> str:
        return (
            f"Session(id={self.ephemeral_key.hex()[:16]}..., initiator={self.initiator}, "
            f"remote_installation={self.remote_installation_id.hex()}, {self.ratchet!r})"
        )
