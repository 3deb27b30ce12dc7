"""X3DH key agreement without a server (spec: x3dh.md).

The initiator (Alice) takes the responder's (Bob's) verified bundle entry:

    DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)
    DH4 = DH(EK_A, OPK_B)   only if a one-time prekey is used
    SK  = HKDF(F || DH1 || DH2 || DH3 [|| DH4])                 (X3DH-010)
    AD  = IK_A || installation_A || IK_B || installation_B       (X3DH-030)

where IK is the identity's signing key followed by its X25519 key. Each DH
fails closed: an all-zero output raises ZeroSharedSecret (X3DH-011).
"""

from __future__ import annotations

from dataclasses import dataclass

from .keys import IdentityKey, IdentityKeyPair, check_installation_id
from .primitives import DHKeyPair, x25519
from .profile import Profile

__all__ = [
    "Agreement",
    "associated_data",
    "initiator_agreement",
    "responder_agreement",
]


@dataclass(frozen=True, slots=True, repr=False)
class Agreement:
    """The outcome of X3DH: the DH outputs (for test vectors) and SK."""

    dh_outputs: tuple[bytes, ...]
    shared_key: bytes

    def __repr__(self) -> str:
        return f"Agreement(dh_outputs={len(self.dh_outputs)})"


def associated_data(
    initiator: IdentityKey,
    initiator_installation_id: bytes,
    responder: IdentityKey,
    responder_installation_id: bytes,
) -> bytes:
    """AD = IK_A || installation_A || IK_B || installation_B: 160 bytes (X3DH-030)."""
    check_installation_id(initiator_installation_id)
    check_installation_id(responder_installation_id)
    return b"".join(
        (initiator.keys, initiator_installation_id, responder.keys, responder_installation_id)
    )


def initiator_agreement(
    profile: Profile,
    identity: IdentityKeyPair,
    ephemeral: DHKeyPair,
    responder_identity: IdentityKey,
    signed_prekey: bytes,
    one_time_prekey: bytes | None = None,
) -> Agreement:
    """Alice's side: SK from her identity and ephemeral keys and Bob's prekeys."""
    outputs = [
        x25519(identity.dh, signed_prekey),
        x25519(ephemeral, responder_identity.dh_key),
        x25519(ephemeral, signed_prekey),
    ]
    if one_time_prekey is not None:
        outputs.append(x25519(ephemeral, one_time_prekey))
    return Agreement(tuple(outputs), profile.x3dh_kdf(b"".join(outputs)))


def responder_agreement(
    profile: Profile,
    identity: IdentityKeyPair,
    signed_prekey: DHKeyPair,
    one_time_prekey: DHKeyPair | None,
    initiator_identity: IdentityKey,
    ephemeral_key: bytes,
) -> Agreement:
    """Bob's side: the same SK from his private prekeys and Alice's public keys."""
    outputs = [
        x25519(signed_prekey, initiator_identity.dh_key),
        x25519(identity.dh, ephemeral_key),
        x25519(signed_prekey, ephemeral_key),
    ]
    if one_time_prekey is not None:
        outputs.append(x25519(one_time_prekey, ephemeral_key))
    return Agreement(tuple(outputs), profile.x3dh_kdf(b"".join(outputs)))
