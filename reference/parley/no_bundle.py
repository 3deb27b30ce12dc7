"""Messages sent without the recipient's bundle (spec: no-bundle.md).

A sender that knows only the recipient's identity can still write. Such a
message is **not forward secret** (NOBUNDLE-002): its key depends on the
recipient's long-term identity key, so a later compromise of that key reveals
it. The sender attaches its own bundle to the envelope, and the recipient's
reply starts a forward-secret session (NOBUNDLE-003).

    DH1 = DH(EK, IK_B)    DH2 = DH(IK_A, IK_B)
    mk  = HKDF(F || DH1 || DH2, salt = 0^32, info = "Parley no-bundle v1", 32)
    AD  = IK_A || installation_A || IK_B

then ENCRYPT(mk, plaintext, AD, header) exactly as a ratchet message. No
signature is made, so the message stays deniable; DH2 authenticates the
sender.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from .codec import (
    DecodedNoBundleMessage,
    NoBundleHeader,
    decode_no_bundle_message,
    encode_no_bundle_message,
)
from .errors import MalformedMessage, ReplayedInitialMessage
from .keys import IdentityKey, IdentityKeyPair, check_installation_id
from .primitives import DHKeyPair, Random, x25519
from .profile import PROFILE_1, Profile
from .versioning import CURRENT_POLICY, VersionPolicy

__all__ = ["OpenedNoBundleMessage", "open_no_bundle", "seal_no_bundle"]


@dataclass(frozen=True, slots=True)
class OpenedNoBundleMessage:
    """A decrypted no-bundle message. ``forward_secret`` is always False."""

    sender: IdentityKey
    sender_installation_id: bytes
    ephemeral_key: bytes
    plaintext: bytes
    forward_secret: bool = False

    def __repr__(self) -> str:
        return (
            f"OpenedNoBundleMessage(sender={self.sender.signing_key.hex()[:16]}..., "
            f"length={len(self.plaintext)}, forward_secret=False)"
        )


def _associated_data(sender: IdentityKey, sender_installation_id: bytes, recipient: IdentityKey):
    return sender.keys + sender_installation_id + recipient.keys


def seal_no_bundle(
    identity: IdentityKeyPair,
    sender_installation_id: bytes,
    recipient: IdentityKey,
    plaintext: bytes,
    *,
    rng: Random,
    version: int = CURRENT_POLICY.writes,
    profile: Profile = PROFILE_1,
) -> bytes:
    """Encrypt ``plaintext`` for any installation of ``recipient``: a NoBundleMessage."""
    check_installation_id(sender_installation_id)
    recipient.verify(profile)
    ephemeral = DHKeyPair.generate(rng)
    message_key = profile.no_bundle_kdf(
        x25519(ephemeral, recipient.dh_key) + x25519(identity.dh, recipient.dh_key)
    )
    header = NoBundleHeader(version, identity.public, ephemeral.public, recipient.dh_key).encode()
    ad = _associated_data(identity.public, sender_installation_id, recipient)
    ciphertext, mac = profile.encrypt(message_key, plaintext, ad, header)
    return encode_no_bundle_message(header, ciphertext, mac)


def open_no_bundle(
    identity: IdentityKeyPair,
    message: bytes | DecodedNoBundleMessage,
    sender_installation_id: bytes,
    *,
    replay_cache: Container[bytes] = (),
    policy: VersionPolicy = CURRENT_POLICY,
    profile: Profile = PROFILE_1,
) -> OpenedNoBundleMessage:
    """Decrypt a NoBundleMessage addressed to ``identity``.

    Checks in the order of NOBUNDLE-011: the sender installation id, the
    decoding (WIRE-006), the recipient DH key, the sender's binding, the
    replay cache, the DH outputs, the MAC, the padding. The caller keeps the
    replay cache of ``ephemeral_key`` values (NOBUNDLE-020) and passes it in
    as ``replay_cache``; it records the key only after this function returned:
    this function has no state.
    """
    check_installation_id(sender_installation_id, MalformedMessage)
    decoded = (
        message
        if isinstance(message, DecodedNoBundleMessage)
        else decode_no_bundle_message(message, policy, profile)
    )
    header = decoded.header
    if header.recipient_dh_key != identity.public.dh_key:
        raise MalformedMessage("the no-bundle message is for another identity")
    header.sender_identity.verify(profile)
    if header.ephemeral_key in replay_cache:
        raise ReplayedInitialMessage("this no-bundle message was already accepted")
    message_key = profile.no_bundle_kdf(
        x25519(identity.dh, header.ephemeral_key)
        + x25519(identity.dh, header.sender_identity.dh_key)
    )
    ad = _associated_data(header.sender_identity, sender_installation_id, identity.public)
    plaintext = profile.decrypt(
        message_key, decoded.ciphertext, decoded.mac, ad, decoded.raw_header
    )
    return OpenedNoBundleMessage(
        header.sender_identity, sender_installation_id, header.ephemeral_key, plaintext
    )
