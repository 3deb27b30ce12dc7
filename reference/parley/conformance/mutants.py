"""Mutants: deliberately wrong variants of the reference, each of which the
vectors must catch ("kill").

    python -m parley.conformance.mutants [--vectors DIR] [--jobs N] [NAME ...]

Each mutant is a monkeypatch of the core, applied in a fresh subprocess
(``--run NAME``), which then runs the whole suite in process against the
mutated reference and prints the tcIds that failed. A mutant is killed if at
least one vector fails. The report lists, for each mutant, how many vectors
killed it and which; the exit status is 1 if any mutant survived.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["MUTANTS", "apply_mutant"]


def _patch_everywhere(attribute: str, original, replacement) -> None:
    """Replace ``original`` by ``replacement`` in every parley module that holds it."""
    for name, module in list(sys.modules.items()):
        if (name == "parley" or name.startswith("parley.")) and getattr(
            module, attribute, None
        ) is original:
            setattr(module, attribute, replacement)


def _wrap_method(cls, name: str, make):
    original = cls.__dict__[name]
    setattr(cls, name, make(original))


# -- the mutants --------------------------------------------------------------------


def dh_zeros():
    """X25519 returns 32 zero bytes (the bug shipped for a year in a real messenger)."""
    from .. import primitives

    _patch_everywhere("x25519", primitives.x25519, lambda own, peer: bytes(32))


def zero_check_off():
    """An all-zero X25519 output is used instead of refused (X3DH-011)."""
    from .. import primitives
    from ..errors import ZeroSharedSecret

    original = primitives.x25519

    def x25519(own, peer):
        try:
            return original(own, peer)
        except ZeroSharedSecret:
            return bytes(32)

    _patch_everywhere("x25519", original, x25519)


def ad_without_identity():
    """AD holds only the installation ids, not the identity keys (X3DH-030)."""
    from .. import x3dh

    original = x3dh.associated_data
    _patch_everywhere("associated_data", original, lambda a, ai, b, bi: ai + bi)


def ad_swapped():
    """AD with the responder first."""
    from .. import x3dh

    original = x3dh.associated_data
    _patch_everywhere("associated_data", original, lambda a, ai, b, bi: original(b, bi, a, ai))


def kdf_ck_swapped():
    """KDF_CK with its two HMAC constants swapped (RATCHET-011)."""
    from .. import primitives as P
    from ..profile import Profile

    Profile.kdf_ck = lambda self, ck: (P.hmac_sha256(ck, b"\x01"), P.hmac_sha256(ck, b"\x02"))


def wrong_hkdf_info():
    """Message keys expanded with another HKDF info string (RATCHET-012)."""
    from .. import primitives as P
    from ..profile import Profile

    def message_keys(self, mk):
        okm = P.hkdf_sha256(mk, bytes(32), b"Parley message keys v2", 80)
        return okm[:32], okm[32:64], okm[64:]

    Profile.message_keys = message_keys


def kdf_rk_salt_swapped():
    """KDF_RK with salt and input key material swapped (RATCHET-010)."""
    from .. import primitives as P
    from ..profile import Profile

    def kdf_rk(self, rk, dh):
        out = P.hkdf_sha256(rk, dh, self.kdf_rk_info, 64)
        return out[:32], out[32:]

    Profile.kdf_rk = kdf_rk


def x3dh_no_prefix():
    """SK without the 32 bytes of 0xFF before the DH outputs (X3DH-010)."""
    from .. import primitives as P
    from ..profile import Profile

    Profile.x3dh_kdf = lambda self, dh: P.hkdf_sha256(dh, self.x3dh_salt, self.x3dh_info, 32)


def opk_ignored():
    """The initiator leaves DH4 out even when a one-time prekey is chosen."""
    from .. import x3dh

    original = x3dh.initiator_agreement
    _patch_everywhere(
        "initiator_agreement",
        original,
        lambda profile, ident, eph, peer, spk, opk=None: original(profile, ident, eph, peer, spk),
    )


def max_skip_off():
    """MAX_SKIP is not enforced (RATCHET-034)."""
    from ..ratchet import DoubleRatchet

    def _skip(self, chain, until, ratchet_key, budget=None):
        out = []
        while chain.index < until:
            chain, message_key = chain.next(self.profile)
            out.append(((ratchet_key, message_key.index), message_key.key, chain))
        return out

    DoubleRatchet._skip = _skip


def commit_on_failure():
    """A message that fails to decrypt still advances the receiving chain (RATCHET-040)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, header, ciphertext, mac, rng, extra_header=b"", budget=None):
            try:
                return original(self, header, ciphertext, mac, rng, extra_header, budget)
            except Exception:
                chain = self.receiving_chain
                if chain is not None and header.ratchet_key == self.receiving_ratchet_key:
                    while chain.index <= header.message_number:
                        chain, _ = chain.next(self.profile)
                    self.receiving_chain = chain
                raise

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def skipped_key_kept():
    """A skipped message key is kept after it decrypted its message (RATCHET-032)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            before = dict(self.skipped)
            plaintext = original(self, header, *args, **kwargs)
            for slot, key in before.items():
                self.skipped.setdefault(slot, key)
            return plaintext

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def retired_chains_forgotten():
    """Retired receiving chains are not remembered (RATCHET-036)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, *args, **kwargs):
            plaintext = original(self, *args, **kwargs)
            self.retired_chains.clear()
            return plaintext

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def pn_ignored():
    """On a DH ratchet step the rest of the old chain is not skipped (PN ignored)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            if header.ratchet_key != self.receiving_ratchet_key:
                header.previous_chain_length = 0
            return original(self, header, *args, **kwargs)

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def chain_not_advanced():
    """Encrypt does not advance the sending chain: message keys are reused (RATCHET-021)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def encrypt(self, *args, **kwargs):
            chain = self.sending_chain
            out = original(self, *args, **kwargs)
            self.sending_chain = chain
            return out

        return encrypt

    _wrap_method(DoubleRatchet, "encrypt", make)


def mac_truncated():
    """The MAC check compares only the first 16 bytes of the tag (RATCHET-013)."""
    from .. import primitives
    from ..errors import InvalidMac

    original = primitives.hmac_sha256_verify

    def verify(key, data, tag):
        if primitives.hmac_sha256(key, data)[:16] != tag[:16]:
            raise InvalidMac("MAC does not verify")

    _patch_everywhere("hmac_sha256_verify", original, verify)


def decrypt_before_mac():
    """The ciphertext is decrypted (and its padding checked) before the MAC."""
    from .. import primitives as P
    from ..profile import Profile

    def decrypt(self, mk, ciphertext, mac, ad, header, extra_header=b""):
        enc_key, mac_key, iv = self.message_keys(mk)
        plaintext = P.aes256_cbc_decrypt(enc_key, iv, ciphertext)
        P.hmac_sha256_verify(mac_key, self.mac_input(ad, header, ciphertext, extra_header), mac)
        return plaintext

    Profile.decrypt = decrypt


def x3dh_header_not_in_mac():
    """The X3DH header is left out of the MAC input (RATCHET-013)."""
    from ..profile import Profile

    original = Profile.mac_input
    Profile.mac_input = staticmethod(
        lambda ad, header, ciphertext, extra_header=b"": original(ad, header, ciphertext)
    )


def replay_guard_off():
    """Initial messages are not checked against the replay guard (X3DH-040)."""
    from ..keys import InstallationKeys

    InstallationKeys.is_replay = lambda self, spk_id, ek: False


def opk_not_deleted():
    """A one-time prekey survives the initial message that used it (PREKEY-005)."""
    from ..session import Session

    original = Session.respond.__func__

    def respond(cls, identity, installation, *args, **kwargs):
        saved = dict(installation.one_time_prekeys)
        result = original(cls, identity, installation, *args, **kwargs)
        installation.one_time_prekeys.update(saved)
        return result

    Session.respond = classmethod(respond)


def old_signed_prekey_refused():
    """Only the current signed prekey is accepted: the grace period is ignored (PREKEY-004)."""
    from ..keys import InstallationKeys

    InstallationKeys.signed_prekey = lambda self, prekey_id: (
        self.signed_prekeys[0] if self.signed_prekeys[0].id == prekey_id else None
    )


def _bundle_verify_ignoring(error_name: str):
    from .. import errors
    from ..bundle import Bundle

    error = getattr(errors, error_name)

    def make(original):
        def verify(self, now, profile=None):
            try:
                return original(self, now) if profile is None else original(self, now, profile)
            except error:
                return None

        return verify

    _wrap_method(Bundle, "verify", make)


def stale_bundle_accepted():
    """A bundle older than bundle_max_age is accepted (BUNDLE-020)."""
    _bundle_verify_ignoring("BundleStale")


def future_bundle_accepted():
    """A bundle signed in the future is accepted (BUNDLE-020)."""
    _bundle_verify_ignoring("BundleTimestampInFuture")


def bundle_signature_unchecked():
    """The bundle signature is not verified (BUNDLE-011)."""
    from .. import bundle

    bundle.ed25519_verify = lambda public, message, signature: None


def binding_unchecked():
    """The identity binding signature is not verified (KEYS-003)."""
    from ..keys import IdentityKey

    IdentityKey.verify = lambda self, profile=None: None


def version_unchecked():
    """Any protocol version is read (VERSION-001)."""
    from ..versioning import VersionPolicy

    VersionPolicy.check_readable = lambda self, version: None


def negotiate_lowest():
    """Negotiation picks the lowest common version instead of the highest (VERSION-010)."""
    from .. import versioning
    from ..errors import UnsupportedVersion

    def negotiate(policy, peer_reads):
        candidates = [v for v in peer_reads if v in policy.reads and v <= policy.writes]
        if not candidates:
            raise UnsupportedVersion("no protocol version in common with the peer")
        return min(candidates)

    _patch_everywhere("negotiate", versioning.negotiate, negotiate)


def size_limit_off():
    """Messages above max_message_size are parsed (WIRE-002)."""
    from google.protobuf.message import DecodeError

    from .. import codec
    from ..errors import MalformedMessage

    def _parse(cls, data, what, profile):
        try:
            return cls.FromString(bytes(data))
        except DecodeError:
            raise MalformedMessage(f"{what} does not decode") from None

    codec._parse = _parse


def no_bundle_marked_forward_secret():
    """A no-bundle message is reported as forward secret (NOBUNDLE-002)."""
    import dataclasses

    from .. import no_bundle

    original = no_bundle.open_no_bundle
    _patch_everywhere(
        "open_no_bundle",
        original,
        lambda *a, **k: dataclasses.replace(original(*a, **k), forward_secret=True),
    )


def no_bundle_ad_without_installation():
    """The no-bundle AD leaves out the sender's installation id (NOBUNDLE-010)."""
    from .. import no_bundle

    no_bundle._associated_data = lambda sender, installation_id, recipient: (
        sender.keys + recipient.keys
    )


def x3dh_header_dropped_early():
    """The initiator stops sending the X3DH header after its first message (X3DH-020)."""
    from ..session import Session

    def make(original):
        def encrypt(self, plaintext):
            out = original(self, plaintext)
            self.pending_x3dh = None
            return out

        return encrypt

    _wrap_method(Session, "encrypt", make)


# -- mutants of the rules issue by issue: a stranger's mistakes --------------------


def ed25519_lax():
    """Ed25519 verification is pyca/cryptography's alone: small-order and non-canonical
    keys and R are accepted (PROFILE-013)."""
    from cryptography.exceptions import InvalidSignature as PycaInvalid
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from .. import primitives
    from ..errors import InvalidKey, InvalidSignature

    def verify(public, message, signature):
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes(public))
        except ValueError:
            raise InvalidKey("not a point") from None
        try:
            key.verify(bytes(signature), message)
        except PycaInvalid:
            raise InvalidSignature("does not verify") from None

    _patch_everywhere("ed25519_verify", primitives.ed25519_verify, verify)


def _ed25519_without(check: str):
    from .. import primitives

    original = primitives.ed25519_verify
    real_small, real_canonical = primitives.ed25519_has_small_order, primitives.ed25519_is_canonical

    def verify(public, message, signature):
        # the check is skipped for R (signature[:32]) or for the key (public)
        skipped = bytes(signature[:32]) if check == "R" else bytes(public)

        def small(encoding):
            return False if encoding == skipped else real_small(encoding)

        def canonical(encoding):
            return True if encoding == skipped else real_canonical(encoding)

        primitives.ed25519_has_small_order, primitives.ed25519_is_canonical = small, canonical
        try:
            return original(public, message, signature)
        finally:
            primitives.ed25519_has_small_order = real_small
            primitives.ed25519_is_canonical = real_canonical

    _patch_everywhere("ed25519_verify", original, verify)


def ed25519_small_order_r():
    """Ed25519: a small-order or non-canonical R is accepted (PROFILE-013)."""
    _ed25519_without("R")


def ed25519_small_order_key():
    """Ed25519: a small-order or non-canonical public key is accepted (PROFILE-013)."""
    _ed25519_without("key")


def binding_signature_length_unchecked():
    """A binding signature of the wrong length is reported as a key error, not as
    malformed (WIRE-001)."""
    from .. import codec
    from ..keys import IdentityKey

    codec.identity_from_pb = lambda m: IdentityKey(m.signing_key, m.dh_key, m.binding_signature)


def bundle_unsorted_accepted():
    """Bundle entries need not be sorted by installation id (BUNDLE-004)."""
    from ..bundle import Bundle

    def make(original):
        def post_init(self):
            installations = self.installations
            object.__setattr__(
                self, "installations", tuple(sorted(installations, key=lambda i: i.installation_id))
            )
            try:
                original(self)
            finally:
                object.__setattr__(self, "installations", installations)

        return post_init

    _wrap_method(Bundle, "__post_init__", make)


def bundle_profile_after_binding():
    """Bundle verification checks the binding before the profile (BUNDLE-011, PROFILE-002)."""
    from ..bundle import Bundle

    def make(original):
        def verify(self, now, profile=None):
            self.identity.verify()
            return original(self, now) if profile is None else original(self, now, profile)

        return verify

    _wrap_method(Bundle, "verify", make)


def bundle_profile_unchecked():
    """The bundle's profile field is ignored: every bundle is read as profile 1
    (PROFILE-001, PROFILE-002)."""
    import dataclasses

    from ..bundle import Bundle
    from ..profile import PROFILE_1

    def make(original):
        def verify(self, now, profile=PROFILE_1):
            return original(dataclasses.replace(self, profile=profile.id), now, profile)

        return verify

    _wrap_method(Bundle, "verify", make)


def bundle_versions_not_signed():
    """The signed bundle bytes leave out each entry's protocol versions (BUNDLE-010,
    VERSION-002)."""
    import struct

    from ..bundle import InstallationPreKeys

    def signed_bytes(self):
        parts = [
            self.installation_id,
            struct.pack(">I", self.signed_prekey_id),
            self.signed_prekey,
            struct.pack(">H", len(self.one_time_prekeys)),
        ]
        for opk_id, key in self.one_time_prekeys:
            parts += [struct.pack(">I", opk_id), key]
        return b"".join(parts)

    InstallationPreKeys.signed_bytes = signed_bytes


def unknown_installation_first_entry():
    """An initiator asking for an installation the bundle does not list gets its first
    entry (BUNDLE-001, X3DH-001)."""
    from ..bundle import Bundle

    def make(original):
        def installation(self, installation_id):
            for entry in self.installations:
                if entry.installation_id == installation_id:
                    return entry
            return self.installations[0]

        return installation

    _wrap_method(Bundle, "installation", make)


def initiate_without_bundle_check():
    """The initiator starts X3DH without verifying the bundle (X3DH-001)."""
    from ..bundle import Bundle
    from ..session import Session

    original = Session.initiate.__func__
    real_verify = Bundle.verify

    def initiate(cls, *args, **kwargs):
        Bundle.verify = lambda self, now, profile=None: None
        try:
            return original(cls, *args, **kwargs)
        finally:
            Bundle.verify = real_verify

    Session.initiate = classmethod(initiate)


def short_installation_id_accepted():
    """Installation ids of any non-zero length are accepted (KEYS-004, WIRE-001)."""
    from .. import keys

    original = keys.check_installation_id

    def check(value, error=None):
        if not value:
            return original(value) if error is None else original(value, error)
        return value

    _patch_everywhere("check_installation_id", original, check)
    from .. import codec

    codec._installation_id = lambda value, what: value


def contact_checksum_unchecked():
    """A contact code's checksum is not checked (CONTACT-003)."""
    import types

    from ..client import contact_code

    # only the contact code module's view of hmac: the rest of Parley keeps its MACs
    contact_code.hmac = types.SimpleNamespace(compare_digest=lambda a, b: True)


def contact_unicode_white_space():
    """A contact code reader ignores any Unicode white space and folds Unicode case
    (CONTACT-002)."""
    from ..client import contact_code

    original = contact_code.decode_contact_code

    def decode(code):
        if isinstance(code, str):
            code = "".join(code.split()).lower()
            code = code.encode("ascii", "replace").decode() if not code.isascii() else code
        return original(code)

    _patch_everywhere("decode_contact_code", original, decode)


def contact_bundle_error_leaks():
    """A contact code whose bundle does not decode gives the core's code, not
    INVALID_CONTACT_CODE (CONTACT-003)."""
    from ..client import contact_code
    from ..errors import LocalError, RemoteError

    real = contact_code.decode_bundle

    def leaky(data):
        try:
            return real(data)
        except RemoteError as exc:
            leak = LocalError(exc.message)
            leak.code = exc.code
            raise leak from None

    contact_code.decode_bundle = leaky


def encrypt_returns_sentinel():
    """Encrypting without a sending chain returns empty bytes instead of failing (ERR-001)."""
    from ..errors import SessionStateError
    from ..session import Session

    def make(original):
        def encrypt(self, plaintext):
            try:
                return original(self, plaintext)
            except SessionStateError:
                return b""

        return encrypt

    _wrap_method(Session, "encrypt", make)


def responder_sends_on_receiving_chain():
    """A session without a sending chain encrypts anyway, with its receiving chain or
    a zero chain key (RATCHET-002)."""
    from ..ratchet import ChainKey, DoubleRatchet

    def make(original):
        def encrypt(self, plaintext, extra_header=b""):
            if self.sending_chain is None:
                self.sending_chain = self.receiving_chain or ChainKey(bytes(32), 0)
            return original(self, plaintext, extra_header)

        return encrypt

    _wrap_method(DoubleRatchet, "encrypt", make)


def copy_selection_last():
    """An installation takes the last copy that names it, and the last no-bundle copy
    (MULTI-003)."""
    from ..client import decisions

    def select_copy(envelope, installation_id):
        if envelope.sender_installation_id == installation_id:
            return decisions.OWN_ENVELOPE, None
        mine = [
            i
            for i, c in enumerate(envelope.messages)
            if c.recipient_installation_id == installation_id
        ]
        anyone = [i for i, c in enumerate(envelope.messages) if c.recipient_installation_id is None]
        if mine:
            return decisions.ADDRESSED, mine[-1]
        if anyone:
            return decisions.NO_BUNDLE, anyone[-1]
        return decisions.NOT_ADDRESSED, None

    _patch_everywhere("select_copy", decisions.select_copy, select_copy)


def tie_break_larger_id():
    """Of two sessions started at once, the one with the larger id is kept (SESSION-010)."""
    from ..client import decisions

    original = decisions.choose_session

    def choose(current, accepted, reset):
        if current is None or not (current.initiated and current.pending) or reset:
            return accepted
        return max(current.session_id, accepted)

    _patch_everywhere("choose_session", original, choose)


def reset_not_preferred():
    """A session started by a RESET loses the tie-break like any other (SESSION-010)."""
    from ..client import decisions

    original = decisions.choose_session
    _patch_everywhere(
        "choose_session",
        original,
        lambda current, accepted, reset: original(current, accepted, False),
    )


def duplicate_starts_reset():
    """A duplicate or replayed message starts a session reset (SESSION-020)."""
    from ..client import decisions

    original = decisions.failure_action

    def action(reason):
        if reason in ("DUPLICATE_MESSAGE", "REPLAYED_INITIAL_MESSAGE"):
            return decisions.RESET
        return original(reason)

    _patch_everywhere("failure_action", original, action)


def not_addressed_resets():
    """An envelope without a copy for me starts a reset instead of a HELLO (MULTI-003,
    SESSION-020)."""
    from ..client import decisions

    original = decisions.failure_action
    _patch_everywhere(
        "failure_action",
        original,
        lambda reason: decisions.RESET if reason == "NOT_ADDRESSED" else original(reason),
    )


def reset_always_new_session():
    """Every RESET starts a new session, even over a pending one it started itself
    (SESSION-020)."""
    from ..client import decisions

    original = decisions.reuses_chosen
    _patch_everywhere(
        "reuses_chosen",
        original,
        lambda action, chosen: action == decisions.HELLO and original(action, chosen),
    )


def sending_chain_never_exhausted():
    """A sending chain encrypts past N = 2^32 - 1 (RATCHET-023)."""
    from .. import ratchet

    ratchet.MAX_MESSAGE_NUMBER = 1 << 40


def no_bundle_binding_after_mac():
    """A no-bundle message's sender binding is checked after its MAC (NOBUNDLE-011)."""
    from .. import no_bundle
    from ..keys import IdentityKey

    original = no_bundle.open_no_bundle
    real_verify = IdentityKey.verify

    def open_(identity, message, sender_installation_id, **kwargs):
        IdentityKey.verify = lambda self, profile=None: None
        try:
            opened = original(identity, message, sender_installation_id, **kwargs)
        finally:
            IdentityKey.verify = real_verify
        opened.sender.verify()
        return opened

    _patch_everywhere("open_no_bundle", original, open_)


def no_bundle_replay_cache_off():
    """No-bundle messages are not checked against a replay cache (NOBUNDLE-020)."""
    from .. import no_bundle

    original = no_bundle.open_no_bundle

    def open_(identity, message, sender_installation_id, *, replay_cache=(), **kwargs):
        return original(identity, message, sender_installation_id, **kwargs)

    _patch_everywhere("open_no_bundle", original, open_)


def payload_control_with_body():
    """A RESET or HELLO payload may carry a body (PAYLOAD-001)."""
    from ..client import payload

    original = payload.encode_payload

    def encode(p):
        if p.kind in (payload.RESET, payload.HELLO) and p.body:
            return bytes([p.kind]) + p.message_id + p.body
        return original(p)

    _patch_everywhere("encode_payload", original, encode)


def payload_unknown_kind_accepted():
    """A payload of an unknown kind is decoded as TEXT (PAYLOAD-002)."""
    from ..client import payload

    original = payload.decode_payload

    def decode(data):
        if len(data) >= 17 and data[0] not in (1, 2, 3, 4):
            return payload.Payload(data[0], data[1:17], data[17:])
        return original(data)

    _patch_everywhere("decode_payload", original, decode)


def header_reencoded_for_mac():
    """The MAC is checked over the re-encoded ratchet header, not the bytes as received
    (RATCHET-030, WIRE-003)."""
    from ..ratchet import DoubleRatchet
    from ..v1 import wire_pb2 as pb

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            parsed = pb.RatchetHeader.FromString(header.raw)
            parsed.DiscardUnknownFields()
            header.raw = parsed.SerializeToString()
            return original(self, header, *args, **kwargs)

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def header_version_not_authenticated():
    """The MAC covers the header with the session's version, not the version as sent
    (VERSION-001)."""
    from ..ratchet import DoubleRatchet
    from ..v1 import wire_pb2 as pb

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            parsed = pb.RatchetHeader.FromString(header.raw)
            parsed.version = self.version
            header.raw = parsed.SerializeToString()
            return original(self, header, *args, **kwargs)

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def skipped_lookup_after_chain():
    """A message below Nr of the current chain is a duplicate before its skipped key
    is looked up (RATCHET-031)."""
    from ..errors import DuplicateMessage
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            chain = self.receiving_chain
            if (
                chain is not None
                and header.ratchet_key == self.receiving_ratchet_key
                and header.message_number < chain.index
            ):
                raise DuplicateMessage("below Nr")
            return original(self, header, *args, **kwargs)

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def evict_newest_skipped():
    """Beyond 2000 skipped keys, the newest are evicted instead of the oldest (RATCHET-035)."""
    from ..ratchet import DoubleRatchet

    def keep(self, new):
        skipped = self.skipped
        for slot, key, _chain in new:
            skipped[slot] = key
        excess = len(skipped) - self.profile.max_skipped_keys
        if excess > 0:
            for slot in list(skipped)[-excess:]:
                del skipped[slot]

    DoubleRatchet._keep_skipped = keep


def max_skip_off_old_chain():
    """MAX_SKIP is not enforced on the old chain when a new ratchet key arrives
    (RATCHET-034)."""
    from ..ratchet import DoubleRatchet

    state = {"new_key": False}
    original_skip = DoubleRatchet._skip

    def make(original):
        def decrypt(self, header, *args, **kwargs):
            state["new_key"] = (
                header.ratchet_key != self.receiving_ratchet_key
                and (header.ratchet_key, header.message_number) not in self.skipped
                and all(k != header.ratchet_key for k, _ in self.retired_chains)
            )
            try:
                return original(self, header, *args, **kwargs)
            finally:
                state["new_key"] = False

        return decrypt

    def skip(self, chain, until, ratchet_key, budget=None):
        if state["new_key"] and ratchet_key == self.receiving_ratchet_key:
            out = []
            while chain.index < until:
                chain, message_key = chain.next(self.profile)
                out.append(((ratchet_key, message_key.index), message_key.key, chain))
            return out
        return original_skip(self, chain, until, ratchet_key, budget)

    _wrap_method(DoubleRatchet, "decrypt", make)
    DoubleRatchet._skip = skip


def retired_chains_three():
    """Three retired chains are remembered instead of 2 (RATCHET-036)."""
    from ..ratchet import DoubleRatchet

    def make(original):
        def decrypt(self, *args, **kwargs):
            before = list(self.retired_chains)
            plaintext = original(self, *args, **kwargs)
            if before and before[0] not in self.retired_chains:
                self.retired_chains.insert(0, before[0])
                del self.retired_chains[:-3]
            return plaintext

        return decrypt

    _wrap_method(DoubleRatchet, "decrypt", make)


def padding_error_as_mac_error():
    """Bad padding after a good MAC is reported as INVALID_MAC (RATCHET-020, PROFILE-012)."""
    from ..errors import InvalidMac, InvalidPadding
    from ..profile import Profile

    original = Profile.decrypt

    def decrypt(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except InvalidPadding:
            raise InvalidMac("MAC does not verify") from None

    Profile.decrypt = decrypt


def session_load_binding_unchecked():
    """A saved session is loaded without checking its identities' bindings (STORE-010)."""
    from .. import state
    from ..keys import IdentityKey

    original = state.load_session
    real_verify = IdentityKey.verify

    def load(data, *args, **kwargs):
        IdentityKey.verify = lambda self, profile=None: None
        try:
            return original(data, *args, **kwargs)
        finally:
            IdentityKey.verify = real_verify

    _patch_everywhere("load_session", original, load)


def envelope_version_is_protocol_version():
    """Envelope.version is checked against the reader's protocol versions (VERSION-004)."""
    from .. import codec

    original = codec.decode_envelope

    def decode(data, policy=codec.CURRENT_POLICY, profile=codec.PROFILE_1):
        envelope = original(data, policy, profile)
        policy.check_readable(envelope.version)
        return envelope

    _patch_everywhere("decode_envelope", original, decode)


def policy_writes_unread():
    """A version policy may write a version it does not read (VERSION-020)."""
    from ..errors import InvalidArgument
    from ..versioning import VersionPolicy

    def post_init(self):
        if not self.reads or any(v < 1 for v in self.reads):
            raise InvalidArgument("a policy reads at least one version, each >= 1")

    VersionPolicy.__post_init__ = post_init


def ratchet_version_after_lengths():
    """The ratchet decoder checks the ratchet key length before the version (WIRE-005)."""
    from .. import codec
    from ..errors import InvalidKey

    original = codec.ratchet_message_from_pb

    def decode(message, policy=codec.CURRENT_POLICY):
        try:
            header = codec._RatchetHeaderPb.FromString(message.header)
        except Exception:
            header = None
        if header is not None and message.header and len(header.ratchet_key) != 32:
            raise InvalidKey("ratchet key must be 32 bytes")
        return original(message, policy)

    _patch_everywhere("ratchet_message_from_pb", original, decode)


def no_bundle_lengths_before_keys():
    """The no-bundle decoder checks the MAC length before the header's keys (WIRE-006)."""
    from .. import codec
    from ..errors import MalformedMessage

    original = codec.no_bundle_message_from_pb

    def decode(message, policy=codec.CURRENT_POLICY):
        if message.header and len(message.mac) != 32:
            header = codec.pb.NoBundleHeader.FromString(message.header)
            if header.version in policy.reads and header.HasField("sender_identity"):
                raise MalformedMessage("MAC must be 32 bytes")
        return original(message, policy)

    _patch_everywhere("no_bundle_message_from_pb", original, decode)


def envelope_copies_raw():
    """DecodeEnvelope hands on each copy with its unknown fields (WIRE-007)."""
    import dataclasses

    from .. import codec

    original = codec.decode_envelope

    def decode(data, policy=codec.CURRENT_POLICY, profile=codec.PROFILE_1):
        envelope = original(data, policy, profile)
        items = codec.pb.Envelope.FromString(data).messages
        copies = tuple(
            dataclasses.replace(c, body=getattr(item, c.kind).SerializeToString())
            for c, item in zip(envelope.messages, items, strict=True)
        )
        return dataclasses.replace(envelope, messages=copies)

    _patch_everywhere("decode_envelope", original, decode)


def no_bundle_copy_addressed_accepted():
    """A no-bundle copy with a recipient id is accepted (WIRE-041, WIRE-040)."""
    from .. import codec

    real = codec.decode_envelope

    def decode(data, policy=codec.CURRENT_POLICY, profile=codec.PROFILE_1):
        message = codec._parse(codec.pb.Envelope, data, "envelope", profile)
        for item in message.messages:
            if item.WhichOneof("body") == "no_bundle":
                item.recipient_installation_id = b""
        return real(message.SerializeToString(), policy, profile)

    _patch_everywhere("decode_envelope", real, decode)


def unknown_signed_prekey_uses_current():
    """An initial message naming an unknown signed prekey is tried with the current one
    (X3DH-041)."""
    from ..keys import InstallationKeys

    def make(original):
        def signed_prekey(self, prekey_id):
            return original(self, prekey_id) or self.signed_prekeys[0]

        return signed_prekey

    _wrap_method(InstallationKeys, "signed_prekey", make)


def respond_prekeys_before_replay():
    """Respond looks up the one-time prekey before the replay guard (X3DH-043)."""
    from ..codec import DecodedRatchetMessage, decode_ratchet_message
    from ..errors import UnknownPreKey
    from ..session import Session
    from ..versioning import CURRENT_POLICY

    original = Session.respond.__func__

    def respond(cls, identity, installation, message, *args, **kwargs):
        decoded = message
        if not isinstance(message, DecodedRatchetMessage):
            decoded = decode_ratchet_message(message, kwargs.get("policy", CURRENT_POLICY))
        header = decoded.x3dh_header
        if (
            header is not None
            and header.one_time_prekey_id is not None
            and header.one_time_prekey_id not in installation.one_time_prekeys
        ):
            raise UnknownPreKey("unknown or already used one-time prekey")
        return original(cls, identity, installation, message, *args, **kwargs)

    Session.respond = classmethod(respond)


def foreign_x3dh_header_accepted():
    """A message with the X3DH header of another session is decrypted in this one
    (X3DH-021)."""
    from ..session import Session

    Session.accepts = lambda self, message: True


def initial_message_recorded_on_failure():
    """A refused initial message is recorded in the replay guard all the same (X3DH-042)."""
    from ..codec import DecodedRatchetMessage, decode_ratchet_message
    from ..errors import RemoteError
    from ..session import Session

    original = Session.respond.__func__

    def respond(cls, identity, installation, message, *args, **kwargs):
        try:
            return original(cls, identity, installation, message, *args, **kwargs)
        except RemoteError:
            try:
                decoded = message
                if not isinstance(message, DecodedRatchetMessage):
                    decoded = decode_ratchet_message(message, kwargs.get("policy"))
                header = decoded.x3dh_header
                if header is not None:
                    installation.record_initial_message(
                        header.signed_prekey_id, header.ephemeral_key
                    )
            except Exception:  # noqa: S110 - undecodable: nothing to record
                pass
            raise

    Session.respond = classmethod(respond)


def long_ratchet_key_truncated():
    """A ratchet key longer than 32 bytes is cut to 32 instead of refused (KEYS-005)."""
    from .. import codec

    original = codec.ratchet_message_from_pb

    def decode(message, policy=codec.CURRENT_POLICY):
        try:
            header = codec._RatchetHeaderPb.FromString(message.header)
        except Exception:
            return original(message, policy)
        if len(header.ratchet_key) > 32:
            header.ratchet_key = header.ratchet_key[:32]
            message.header = header.SerializeToString()
        return original(message, policy)

    _patch_everywhere("ratchet_message_from_pb", original, decode)


def low_order_key_invalid_key():
    """X25519 refuses low-order public keys as INVALID_KEY before the exchange,
    instead of computing and refusing the all-zero output (PROFILE-010)."""
    from .. import primitives
    from ..errors import InvalidKey

    original = primitives.x25519
    low = {bytes(32), b"\x01" + bytes(31)}

    def x25519(own, peer):
        if bytes(peer) in low:
            raise InvalidKey("low-order public key")
        return original(own, peer)

    _patch_everywhere("x25519", original, x25519)


def short_mac_padded():
    """A MAC shorter than 32 bytes is padded with zeros instead of refused (PROFILE-011)."""
    from .. import codec

    original = codec.ratchet_message_from_pb

    def decode(message, policy=codec.CURRENT_POLICY):
        if 0 < len(message.mac) < 32:
            message.mac = message.mac.ljust(32, b"\0")
        return original(message, policy)

    _patch_everywhere("ratchet_message_from_pb", original, decode)


#: The mutants written against the review's list of unpinned rules, with the
#: requirements each one breaks.
_STRANGER_MUTANTS = {
    "ed25519-pyca-only": (ed25519_lax, ["PROFILE-013", "KEYS-003"]),
    "ed25519-small-order-r-accepted": (ed25519_small_order_r, ["PROFILE-013"]),
    "ed25519-small-order-key-accepted": (ed25519_small_order_key, ["PROFILE-013", "KEYS-003"]),
    "binding-signature-length-unchecked": (binding_signature_length_unchecked, ["WIRE-001"]),
    "bundle-entries-unsorted-accepted": (bundle_unsorted_accepted, ["BUNDLE-004"]),
    "bundle-binding-before-profile": (bundle_profile_after_binding, ["BUNDLE-011", "PROFILE-002"]),
    "bundle-profile-ignored": (bundle_profile_unchecked, ["PROFILE-001", "PROFILE-002"]),
    "bundle-versions-not-signed": (bundle_versions_not_signed, ["BUNDLE-010", "VERSION-002"]),
    "bundle-unknown-installation-first-entry": (
        unknown_installation_first_entry,
        ["BUNDLE-001", "X3DH-001"],
    ),
    "initiate-without-bundle-check": (initiate_without_bundle_check, ["X3DH-001"]),
    "short-installation-id-accepted": (short_installation_id_accepted, ["KEYS-004", "WIRE-001"]),
    "contact-checksum-unchecked": (contact_checksum_unchecked, ["CONTACT-003"]),
    "contact-bundle-error-leaks": (contact_bundle_error_leaks, ["CONTACT-003"]),
    "contact-unicode-white-space": (contact_unicode_white_space, ["CONTACT-002"]),
    "encrypt-returns-empty-bytes": (encrypt_returns_sentinel, ["ERR-001"]),
    "responder-sends-on-receiving-chain": (responder_sends_on_receiving_chain, ["RATCHET-002"]),
    "copy-selection-takes-last": (copy_selection_last, ["MULTI-003"]),
    "tie-break-larger-session-id": (tie_break_larger_id, ["SESSION-010"]),
    "reset-session-not-preferred": (reset_not_preferred, ["SESSION-010", "SESSION-020"]),
    "duplicate-starts-reset": (duplicate_starts_reset, ["SESSION-020"]),
    "reset-always-new-session": (reset_always_new_session, ["SESSION-020"]),
    "sending-chain-never-exhausted": (sending_chain_never_exhausted, ["RATCHET-023"]),
    "not-addressed-starts-reset": (not_addressed_resets, ["MULTI-003", "SESSION-020"]),
    "no-bundle-binding-after-mac": (no_bundle_binding_after_mac, ["NOBUNDLE-011"]),
    "no-bundle-replay-cache-off": (no_bundle_replay_cache_off, ["NOBUNDLE-020"]),
    "payload-control-with-body": (payload_control_with_body, ["PAYLOAD-001"]),
    "payload-unknown-kind-accepted": (payload_unknown_kind_accepted, ["PAYLOAD-002"]),
    "mac-over-reencoded-header": (header_reencoded_for_mac, ["RATCHET-030", "WIRE-003"]),
    "header-version-not-authenticated": (header_version_not_authenticated, ["VERSION-001"]),
    "skipped-key-looked-up-late": (skipped_lookup_after_chain, ["RATCHET-031"]),
    "skipped-keys-evict-newest": (evict_newest_skipped, ["RATCHET-035"]),
    "max-skip-not-enforced-on-old-chain": (max_skip_off_old_chain, ["RATCHET-034"]),
    "three-retired-chains": (retired_chains_three, ["RATCHET-036"]),
    "bad-padding-reported-as-bad-mac": (padding_error_as_mac_error, ["RATCHET-020", "PROFILE-012"]),
    "saved-session-binding-unchecked": (session_load_binding_unchecked, ["STORE-010"]),
    "envelope-version-read-as-protocol-version": (
        envelope_version_is_protocol_version,
        ["VERSION-004"],
    ),
    "policy-writes-unread-version": (policy_writes_unread, ["VERSION-020"]),
    "ratchet-key-checked-before-version": (
        ratchet_version_after_lengths,
        ["WIRE-005", "VERSION-003"],
    ),
    "no-bundle-mac-checked-before-keys": (no_bundle_lengths_before_keys, ["WIRE-006"]),
    "envelope-copies-keep-unknown-fields": (envelope_copies_raw, ["WIRE-007"]),
    "addressed-no-bundle-copy-accepted": (
        no_bundle_copy_addressed_accepted,
        ["WIRE-040", "WIRE-041"],
    ),
    "unknown-signed-prekey-uses-current": (unknown_signed_prekey_uses_current, ["X3DH-041"]),
    "respond-prekeys-before-replay-guard": (respond_prekeys_before_replay, ["X3DH-043"]),
    "foreign-x3dh-header-accepted": (foreign_x3dh_header_accepted, ["X3DH-021"]),
    "initial-message-recorded-on-failure": (initial_message_recorded_on_failure, ["X3DH-042"]),
    "long-ratchet-key-truncated": (long_ratchet_key_truncated, ["KEYS-005"]),
    "low-order-key-refused-as-invalid-key": (low_order_key_invalid_key, ["PROFILE-010"]),
    "short-mac-padded": (short_mac_padded, ["PROFILE-011"]),
}


#: name -> (function, requirement IDs the mutant breaks)
MUTANTS = {
    "dh-returns-zeros": (dh_zeros, ["X3DH-010"]),
    "zero-shared-secret-accepted": (zero_check_off, ["X3DH-011"]),
    "ad-without-identity-keys": (ad_without_identity, ["X3DH-030"]),
    "ad-parties-swapped": (ad_swapped, ["X3DH-030"]),
    "kdf-ck-constants-swapped": (kdf_ck_swapped, ["RATCHET-011"]),
    "kdf-rk-salt-and-ikm-swapped": (kdf_rk_salt_swapped, ["RATCHET-010"]),
    "message-keys-wrong-hkdf-info": (wrong_hkdf_info, ["RATCHET-012"]),
    "x3dh-kdf-without-ff-prefix": (x3dh_no_prefix, ["X3DH-010"]),
    "x3dh-one-time-prekey-ignored": (opk_ignored, ["X3DH-010"]),
    "max-skip-not-enforced": (max_skip_off, ["RATCHET-034"]),
    "state-committed-on-failed-decrypt": (commit_on_failure, ["RATCHET-040", "ERR-002"]),
    "skipped-key-kept-after-use": (skipped_key_kept, ["RATCHET-032"]),
    "retired-chains-forgotten": (retired_chains_forgotten, ["RATCHET-036"]),
    "previous-chain-length-ignored": (pn_ignored, ["RATCHET-033"]),
    "sending-chain-not-advanced": (chain_not_advanced, ["RATCHET-021"]),
    "mac-check-truncated": (mac_truncated, ["RATCHET-013"]),
    "decrypt-before-mac-check": (decrypt_before_mac, ["PROFILE-012", "RATCHET-013"]),
    "x3dh-header-not-in-mac": (x3dh_header_not_in_mac, ["RATCHET-013"]),
    "x3dh-header-dropped-early": (x3dh_header_dropped_early, ["X3DH-020"]),
    "replay-guard-off": (replay_guard_off, ["X3DH-040"]),
    "one-time-prekey-not-deleted": (opk_not_deleted, ["PREKEY-005"]),
    "superseded-signed-prekey-refused": (old_signed_prekey_refused, ["PREKEY-004"]),
    "stale-bundle-accepted": (stale_bundle_accepted, ["BUNDLE-020"]),
    "future-bundle-accepted": (future_bundle_accepted, ["BUNDLE-020"]),
    "bundle-signature-not-checked": (bundle_signature_unchecked, ["BUNDLE-011"]),
    "identity-binding-not-checked": (binding_unchecked, ["KEYS-003"]),
    "any-version-read": (version_unchecked, ["VERSION-003"]),
    "negotiate-lowest-version": (negotiate_lowest, ["VERSION-010"]),
    "message-size-limit-off": (size_limit_off, ["WIRE-002"]),
    "no-bundle-marked-forward-secret": (no_bundle_marked_forward_secret, ["NOBUNDLE-002"]),
    "no-bundle-ad-without-installation": (no_bundle_ad_without_installation, ["NOBUNDLE-010"]),
    **_STRANGER_MUTANTS,
}


def apply_mutant(name: str) -> None:
    import parley.conformance.backend
    import parley.state  # noqa: F401

    MUTANTS[name][0]()


# -- running ----------------------------------------------------------------------


def _run_in_process(name: str, vectors: Path) -> list[str]:
    from .drivers import DirectDriver
    from .runner import load_vectors, run_suite

    apply_mutant(name)
    driver = DirectDriver()
    results = run_suite(load_vectors(vectors), {"a": driver, "b": driver})
    return [r.tc_id for r in results if r.status == "fail"]


def _run_subprocess(name: str, vectors: Path) -> tuple[str, list[str] | None, float, str]:
    start = time.perf_counter()
    proc = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "parley.conformance.mutants",
            "--run",
            name,
            "--vectors",
            str(vectors),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return name, None, seconds, proc.stderr[-2000:]
    return name, json.loads(proc.stdout.strip().splitlines()[-1]), seconds, ""


def musts_with_negative_vectors(vectors: Path) -> set[str]:
    """The MUSTs of spec/ that some negative vector cites (a refused case or step)."""
    root = vectors.resolve().parent
    sys.path.insert(0, str(root / "tools"))
    import spec_requirements

    musts = {r.id for r in spec_requirements.parse(root / "spec").by_level("MUST")}
    cited: set[str] = set()
    for path in sorted(vectors.glob("*.json")):
        for group in json.loads(path.read_text())["testGroups"]:
            for test in group["tests"]:
                steps = test.get("steps") if isinstance(test.get("steps"), list) else []
                if test.get("result") == "invalid" or any("error" in s for s in steps):
                    cited.update(test["requirements"])
    return musts & cited


def main(argv: list[str] | None = None) -> int:
    from .runner import default_vector_dir

    parser = argparse.ArgumentParser(prog="python -m parley.conformance.mutants")
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--vectors", type=Path, default=default_vector_dir())
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, default=Path("build/conformance/mutants.json"))
    parser.add_argument(
        "--site-report",
        type=Path,
        default=Path("build/mutants/report.json"),
        help="the report the site renders: each mutant, its requirements, its killers",
    )
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(_run_in_process(args.run, args.vectors)))
        return 0
    names = args.names or list(MUTANTS)
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        parser.error(f"unknown mutants: {unknown}")
    start = time.perf_counter()
    run = functools.partial(_run_subprocess, vectors=args.vectors)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run, names))
    report, killed = {}, 0
    for name, failed, seconds, error in outcomes:
        doc = MUTANTS[name][0].__doc__.strip()
        if failed is None:
            print(f"ERROR    {name}: the mutant run crashed\n{error}")
            report[name] = {"status": "error", "description": doc}
            continue
        if failed:
            killed += 1
            shown = ", ".join(failed[:4]) + (
                f", ... (+{len(failed) - 4})" if len(failed) > 4 else ""
            )
            print(f"KILLED   {name} ({seconds:.1f} s) by {len(failed)} vector(s): {shown}")
        else:
            print(f"SURVIVED {name}: {doc}")
        report[name] = {
            "status": "killed" if failed else "survived",
            "description": doc,
            "killedBy": failed,
        }
    total = len(names)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    site_report = {
        "mutants": [
            {
                "name": name,
                "requirements": list(MUTANTS[name][1]),
                "description": report[name]["description"],
                "killed_by": list(report[name].get("killedBy") or []),
            }
            for name in names
        ],
        "killed": killed,
        "total": total,
    }
    args.site_report.parent.mkdir(parents=True, exist_ok=True)
    args.site_report.write_text(json.dumps(site_report, indent=2) + "\n")
    print(
        f"mutants: {killed}/{total} killed ({100 * killed / total:.0f}% kill rate) "
        f"in {time.perf_counter() - start:.1f} s; reports {args.report}, {args.site_report}"
    )
    ok = killed == total
    if not args.names:  # the whole set: every MUST with a negative vector has a mutant
        negative = musts_with_negative_vectors(args.vectors)
        broken = {req for _fn, reqs in MUTANTS.values() for req in reqs}
        missing = sorted(negative - broken)
        print(
            f"mutants: {len(negative)} MUSTs have a negative vector; {total} mutants break "
            f"{len(negative & broken)} of them"
            + (f"; no mutant breaks {', '.join(missing)}" if missing else "")
        )
        ok = ok and not missing and total >= len(negative)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
