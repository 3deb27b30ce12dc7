"""Profiles: every primitive, label and constant of the protocol, named once.

Spec: profile.md. A profile is Parley's cipher suite. Profile 1 is mandatory
to implement; :data:`PROFILE_1` is the single place where its parameters are
written down, and every other module reads them from here.

The functions below are the Double Ratchet's and X3DH's external functions
(Signal's names), built from the primitives of :mod:`parley.primitives`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import primitives as P
from .errors import InvalidArgument, MalformedMessage, MessageTooLarge, UnsupportedProfile

__all__ = ["PROFILES", "PROFILE_1", "Profile", "get_profile"]

DAY = 24 * 60 * 60
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Profile:
    """A cipher suite: the parameters Signal's documents leave open (PROFILE-001)."""

    id: int
    name: str
    #: X3DH: HKDF info string, the 32-byte 0xFF prefix F, and the zero salt.
    x3dh_info: bytes
    x3dh_prefix: bytes
    x3dh_salt: bytes
    #: KDF_RK: HKDF info; salt is the root key.
    kdf_rk_info: bytes
    #: KDF_CK: HMAC inputs for the message key and the next chain key.
    kdf_ck_message_constant: bytes
    kdf_ck_chain_constant: bytes
    #: ENCRYPT: HKDF info and zero salt expanding a message key to 80 bytes.
    message_key_info: bytes
    message_key_salt: bytes
    #: Sessions started without a bundle: HKDF info for the message key.
    no_bundle_info: bytes
    #: Domain-separation labels of the signed byte strings.
    identity_binding_label: bytes
    bundle_signature_label: bytes
    #: Double Ratchet limits.
    max_skip: int
    max_skipped_keys: int
    max_retired_chains: int
    #: Sessions kept per peer installation; message keys derived to skip, over
    #: all the sessions one received message is tried in (SESSION-011).
    max_sessions_per_installation: int
    max_skip_per_message: int
    #: Size limits.
    max_plaintext_size: int
    max_message_size: int
    max_installations_per_bundle: int
    max_one_time_prekeys_per_installation: int
    #: Safety numbers (KEYS-007): the label of the first hash, the SHA-512 count.
    safety_number_label: bytes
    safety_number_iterations: int
    #: Time limits, in seconds.
    bundle_max_age: int
    clock_skew: int
    signed_prekey_rotation: int
    signed_prekey_grace: int

    # -- X3DH --------------------------------------------------------------

    def x3dh_kdf(self, dh_outputs: bytes) -> bytes:
        """SK = HKDF(F || DH1 || DH2 || DH3 [|| DH4]), 32 bytes (X3DH-010)."""
        return P.hkdf_sha256(self.x3dh_prefix + dh_outputs, self.x3dh_salt, self.x3dh_info, 32)

    def no_bundle_kdf(self, dh_outputs: bytes) -> bytes:
        """mk = HKDF(F || DH(EK, IK_B) || DH(IK_A, IK_B)), 32 bytes (NOBUNDLE-010)."""
        return P.hkdf_sha256(self.x3dh_prefix + dh_outputs, self.x3dh_salt, self.no_bundle_info, 32)

    @property
    def max_ciphertext_size(self) -> int:
        """The largest ciphertext a valid plaintext gives: PKCS#7 adds at most a block."""
        return self.max_plaintext_size + P.AES_BLOCK_SIZE

    # -- Double Ratchet ----------------------------------------------------

    def kdf_rk(self, root_key: bytes, dh_out: bytes) -> tuple[bytes, bytes]:
        """KDF_RK(rk, dh_out) -> (rk', ck): HKDF salted with the root key (RATCHET-010)."""
        out = P.hkdf_sha256(dh_out, root_key, self.kdf_rk_info, 64)
        return out[:32], out[32:]

    def kdf_ck(self, chain_key: bytes) -> tuple[bytes, bytes]:
        """KDF_CK(ck) -> (ck', mk): HMAC-SHA256 with 0x02 and 0x01 (RATCHET-011)."""
        return (
            P.hmac_sha256(chain_key, self.kdf_ck_chain_constant),
            P.hmac_sha256(chain_key, self.kdf_ck_message_constant),
        )

    def message_keys(self, message_key: bytes) -> tuple[bytes, bytes, bytes]:
        """Expand mk with HKDF to 80 bytes: (encryption key, MAC key, IV) (RATCHET-012)."""
        okm = P.hkdf_sha256(message_key, self.message_key_salt, self.message_key_info, 80)
        return okm[:32], okm[32:64], okm[64:]

    @staticmethod
    def mac_input(
        associated_data: bytes, header: bytes, ciphertext: bytes, extra_header: bytes = b""
    ) -> bytes:
        """CONCAT(AD, header) || ciphertext, unambiguous (RATCHET-013):

        AD || u32(len(header)) || header || u32(len(extra)) || extra || ciphertext

        ``extra_header`` is the X3DH header as sent (empty when absent), so
        every byte of a message is authenticated.
        """
        return b"".join(
            (
                associated_data,
                _U32.pack(len(header)),
                header,
                _U32.pack(len(extra_header)),
                extra_header,
                ciphertext,
            )
        )

    def encrypt(
        self,
        message_key: bytes,
        plaintext: bytes,
        associated_data: bytes,
        header: bytes,
        extra_header: bytes = b"",
    ) -> tuple[bytes, bytes]:
        """ENCRYPT(mk, plaintext, CONCAT(AD, header)) -> (ciphertext, mac)."""
        if len(plaintext) > self.max_plaintext_size:
            raise InvalidArgument(f"plaintext above {self.max_plaintext_size} bytes")
        enc_key, mac_key, iv = self.message_keys(message_key)
        ciphertext = P.aes256_cbc_encrypt(enc_key, iv, plaintext)
        mac = P.hmac_sha256(
            mac_key, self.mac_input(associated_data, header, ciphertext, extra_header)
        )
        return ciphertext, mac

    def decrypt(
        self,
        message_key: bytes,
        ciphertext: bytes,
        mac: bytes,
        associated_data: bytes,
        header: bytes,
        extra_header: bytes = b"",
        version_ok: bool = True,
    ) -> bytes:
        """DECRYPT: verify the MAC in constant time first, then decrypt.

        ``version_ok`` False: the MAC verified but the header's protocol version
        is not the session's (VERSION-011), refused before the padding is read.
        """
        if len(ciphertext) > self.max_ciphertext_size:
            raise MessageTooLarge(f"ciphertext above {self.max_ciphertext_size} bytes")
        enc_key, mac_key, iv = self.message_keys(message_key)
        P.hmac_sha256_verify(
            mac_key, self.mac_input(associated_data, header, ciphertext, extra_header), mac
        )
        if not version_ok:
            raise MalformedMessage("an authentic message of another protocol version (VERSION-011)")
        return P.aes256_cbc_decrypt(enc_key, iv, ciphertext)

    def __repr__(self) -> str:
        return f"Profile({self.id}, {self.name!r})"


PROFILE_1 = Profile(
    id=1,
    name="PARLEY_X25519_ED25519_AES256CBC_HMACSHA256_SHA256",
    x3dh_info=b"Parley X3DH v1",
    x3dh_prefix=b"\xff" * 32,
    x3dh_salt=bytes(32),
    kdf_rk_info=b"Parley ratchet v1",
    kdf_ck_message_constant=b"\x01",
    kdf_ck_chain_constant=b"\x02",
    message_key_info=b"Parley message keys v1",
    message_key_salt=bytes(32),
    no_bundle_info=b"Parley no-bundle v1",
    identity_binding_label=b"Parley identity binding v1",
    bundle_signature_label=b"Parley bundle v1",
    max_skip=1000,
    max_skipped_keys=2000,
    max_retired_chains=2,
    max_sessions_per_installation=5,
    max_skip_per_message=2000,
    max_plaintext_size=1 << 20,
    max_message_size=(1 << 20) + 4096,
    max_installations_per_bundle=32,
    max_one_time_prekeys_per_installation=100,
    safety_number_label=b"Parley safety number v1",
    safety_number_iterations=5200,
    bundle_max_age=30 * DAY,
    clock_skew=300,
    signed_prekey_rotation=7 * DAY,
    signed_prekey_grace=37 * DAY,
)

#: Every profile this implementation supports, by identifier.
PROFILES: dict[int, Profile] = {PROFILE_1.id: PROFILE_1}


def get_profile(profile_id: int) -> Profile:
    """The profile with this identifier; UnsupportedProfile if there is none."""
    try:
        return PROFILES[profile_id]
    except KeyError:
        raise UnsupportedProfile(f"profile {profile_id} is not supported") from None
