"""The wire codec: bytes <-> Parley's domain types (spec: wire-format.md).

The generated protobuf code (``parley.v1.wire_pb2``) is used here and nowhere
else on the wire path. Decoding fails closed: a message is size-checked before
it is parsed, every field's length is checked before it is used, and a failure
raises a typed :class:`~parley.errors.RemoteError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from .errors import (
    InvalidArgument,
    InvalidKey,
    MalformedMessage,
    MessageTooLarge,
    UnsupportedVersion,
)
from .keys import INSTALLATION_ID_SIZE, IdentityKey
from .primitives import AES_BLOCK_SIZE, DH_KEY_SIZE, MAC_SIZE, SIGNATURE_SIZE
from .profile import PROFILE_1, Profile
from .v1 import wire_pb2 as pb
from .versioning import CURRENT_POLICY, VersionPolicy

__all__ = [
    "ENVELOPE_FORMAT_VERSION",
    "DecodedRatchetMessage",
    "Envelope",
    "InstallationMessage",
    "NoBundleHeader",
    "RatchetHeader",
    "X3DHHeader",
    "decode_bundle",
    "decode_envelope",
    "decode_ratchet_message",
    "encode_bundle",
    "encode_envelope",
    "encode_ratchet_header",
    "encode_ratchet_message",
    "encode_x3dh_header",
]

#: The envelope format version (VERSION-004): every envelope says 1, whatever the
#: protocol versions of its copies.
ENVELOPE_FORMAT_VERSION = 1

_RatchetHeaderPb = pb.RatchetHeader
_RatchetMessagePb = pb.RatchetMessage


def _parse(cls, data: bytes, what: str, profile: Profile):
    if type(data) is not bytes:
        if not isinstance(data, bytearray | memoryview):
            raise InvalidArgument(f"{what} must be bytes")
        data = bytes(data)
    if len(data) > profile.max_message_size:
        raise MessageTooLarge(f"{what} of {len(data)} bytes is above the limit")
    try:
        return cls.FromString(data)
    except DecodeError:
        raise MalformedMessage(f"{what} does not decode") from None


def _key(value: bytes, what: str) -> bytes:
    if len(value) != DH_KEY_SIZE:
        raise InvalidKey(f"{what} must be {DH_KEY_SIZE} bytes, got {len(value)}")
    return value


def _installation_id(value: bytes, what: str) -> bytes:
    if len(value) != INSTALLATION_ID_SIZE:
        raise MalformedMessage(f"{what} must be {INSTALLATION_ID_SIZE} bytes, got {len(value)}")
    return value


# -- identities and bundles -------------------------------------------------


def identity_to_pb(identity: IdentityKey) -> pb.IdentityKey:
    return pb.IdentityKey(
        signing_key=identity.signing_key,
        dh_key=identity.dh_key,
        binding_signature=identity.binding_signature,
    )


def identity_from_pb(message: pb.IdentityKey) -> IdentityKey:
    """Check, in this order: signing key and DH key 32 bytes (INVALID_KEY), then
    the binding signature 64 bytes (MALFORMED_MESSAGE, WIRE-001)."""
    _key(message.signing_key, "identity signing key")
    _key(message.dh_key, "identity DH key")
    if len(message.binding_signature) != SIGNATURE_SIZE:
        raise MalformedMessage(f"identity binding signature must be {SIGNATURE_SIZE} bytes")
    return IdentityKey(message.signing_key, message.dh_key, message.binding_signature)


def bundle_to_pb(bundle) -> pb.Bundle:
    return pb.Bundle(
        profile=bundle.profile,
        identity=identity_to_pb(bundle.identity),
        installations=[
            pb.InstallationPreKeys(
                installation_id=entry.installation_id,
                signed_prekey_id=entry.signed_prekey_id,
                signed_prekey=entry.signed_prekey,
                protocol_versions=entry.protocol_versions,
                one_time_prekeys=[
                    pb.OneTimePreKey(id=i, public_key=k) for i, k in entry.one_time_prekeys
                ],
            )
            for entry in bundle.installations
        ],
        timestamp=bundle.timestamp,
        signature=bundle.signature,
    )


def bundle_from_pb(message: pb.Bundle):
    from .bundle import Bundle, InstallationPreKeys

    if not message.HasField("identity"):
        raise MalformedMessage("bundle has no identity")
    try:
        return Bundle(
            message.profile,
            identity_from_pb(message.identity),
            tuple(
                InstallationPreKeys(
                    entry.installation_id,
                    entry.signed_prekey_id,
                    entry.signed_prekey,
                    tuple(entry.protocol_versions),
                    tuple((k.id, k.public_key) for k in entry.one_time_prekeys),
                )
                for entry in message.installations
            ),
            message.timestamp,
            message.signature,
        )
    except InvalidArgument as exc:  # a structural rule of the bundle is broken
        raise MalformedMessage(f"bundle: {exc.message}") from None


def encode_bundle(bundle) -> bytes:
    return bundle_to_pb(bundle).SerializeToString(deterministic=True)


def decode_bundle(data: bytes, profile: Profile = PROFILE_1):
    """Decode a bundle. The caller must still :meth:`~parley.bundle.Bundle.verify` it."""
    return bundle_from_pb(_parse(pb.Bundle, data, "bundle", profile))


# -- X3DH header ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class X3DHHeader:
    """The initiator's X3DH data, sent until its first reply (X3DH-020)."""

    initiator_identity: IdentityKey
    ephemeral_key: bytes
    signed_prekey_id: int
    one_time_prekey_id: int | None = None

    def to_pb(self) -> pb.X3DHHeader:
        header = pb.X3DHHeader(
            initiator_identity=identity_to_pb(self.initiator_identity),
            ephemeral_key=self.ephemeral_key,
            signed_prekey_id=self.signed_prekey_id,
        )
        if self.one_time_prekey_id is not None:
            header.one_time_prekey_id = self.one_time_prekey_id
        return header

    @classmethod
    def from_pb(cls, message: pb.X3DHHeader) -> X3DHHeader:
        if not message.HasField("initiator_identity"):
            raise MalformedMessage("X3DH header has no initiator identity")
        return cls(
            identity_from_pb(message.initiator_identity),
            _key(message.ephemeral_key, "ephemeral key"),
            message.signed_prekey_id,
            message.one_time_prekey_id if message.HasField("one_time_prekey_id") else None,
        )


# -- ratchet messages -------------------------------------------------------


class RatchetHeader:
    """A decoded Double Ratchet header; ``raw`` holds the bytes as received."""

    __slots__ = ("message_number", "previous_chain_length", "ratchet_key", "raw", "version")

    def __init__(
        self,
        version: int,
        ratchet_key: bytes,
        previous_chain_length: int,
        message_number: int,
        raw: bytes,
    ) -> None:
        self.version = version
        self.ratchet_key = ratchet_key
        self.previous_chain_length = previous_chain_length
        self.message_number = message_number
        self.raw = raw

    def __repr__(self) -> str:
        return (
            f"RatchetHeader(version={self.version}, ratchet_key={self.ratchet_key.hex()[:16]}..., "
            f"pn={self.previous_chain_length}, n={self.message_number})"
        )


def encode_ratchet_header(
    version: int, ratchet_key: bytes, previous_chain_length: int, message_number: int
) -> bytes:
    return _RatchetHeaderPb(
        version=version,
        ratchet_key=ratchet_key,
        previous_chain_length=previous_chain_length,
        message_number=message_number,
    ).SerializeToString()


class DecodedRatchetMessage:
    """A decoded RatchetMessage; ``x3dh_raw`` is the X3DH header as received."""

    __slots__ = ("ciphertext", "header", "mac", "x3dh_header", "x3dh_raw")

    def __init__(self, header, ciphertext, mac, x3dh_header, x3dh_raw=b"") -> None:
        self.header: RatchetHeader = header
        self.ciphertext: bytes = ciphertext
        self.mac: bytes = mac
        self.x3dh_header: X3DHHeader | None = x3dh_header
        self.x3dh_raw: bytes = x3dh_raw


def encode_x3dh_header(header: X3DHHeader) -> bytes:
    return header.to_pb().SerializeToString()


def encode_ratchet_message(
    header: bytes, ciphertext: bytes, mac: bytes, x3dh_header: bytes = b""
) -> bytes:
    """Encode a RatchetMessage; ``x3dh_header`` is an encoded X3DHHeader or empty."""
    return _RatchetMessagePb(
        header=header, ciphertext=ciphertext, mac=mac, x3dh_header=x3dh_header
    ).SerializeToString()


def ratchet_message_from_pb(
    message: pb.RatchetMessage, policy: VersionPolicy = CURRENT_POLICY
) -> DecodedRatchetMessage:
    raw = message.header
    if not raw:
        raise MalformedMessage("ratchet message has no header")
    try:
        header = _RatchetHeaderPb.FromString(raw)
    except DecodeError:
        raise MalformedMessage("ratchet header does not decode") from None
    policy.check_readable(header.version)
    ratchet_key = header.ratchet_key
    if len(ratchet_key) != DH_KEY_SIZE:
        raise InvalidKey(f"ratchet key must be {DH_KEY_SIZE} bytes, got {len(ratchet_key)}")
    ciphertext = message.ciphertext
    if not ciphertext or len(ciphertext) % AES_BLOCK_SIZE:
        raise MalformedMessage("ciphertext length must be a non-zero multiple of 16")
    mac = message.mac
    if len(mac) != MAC_SIZE:
        raise MalformedMessage(f"MAC must be {MAC_SIZE} bytes, got {len(mac)}")
    x3dh_raw = message.x3dh_header
    x3dh_header = None
    if x3dh_raw:
        try:
            x3dh_header = X3DHHeader.from_pb(pb.X3DHHeader.FromString(x3dh_raw))
        except DecodeError:
            raise MalformedMessage("X3DH header does not decode") from None
    return DecodedRatchetMessage(
        RatchetHeader(
            header.version,
            ratchet_key,
            header.previous_chain_length,
            header.message_number,
            raw,
        ),
        ciphertext,
        mac,
        x3dh_header,
        x3dh_raw,
    )


def decode_ratchet_message(
    data: bytes, policy: VersionPolicy = CURRENT_POLICY, profile: Profile = PROFILE_1
) -> DecodedRatchetMessage:
    """Decode and check a RatchetMessage (lengths, version) without any key."""
    return ratchet_message_from_pb(
        _parse(_RatchetMessagePb, data, "ratchet message", profile), policy
    )


# -- no-bundle messages -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoBundleHeader:
    """The header of a message sent without the recipient's bundle (NOBUNDLE-010)."""

    version: int
    sender_identity: IdentityKey
    ephemeral_key: bytes
    recipient_dh_key: bytes

    def encode(self) -> bytes:
        return pb.NoBundleHeader(
            version=self.version,
            sender_identity=identity_to_pb(self.sender_identity),
            ephemeral_key=self.ephemeral_key,
            recipient_dh_key=self.recipient_dh_key,
        ).SerializeToString()


@dataclass(frozen=True, slots=True)
class DecodedNoBundleMessage:
    header: NoBundleHeader
    raw_header: bytes
    ciphertext: bytes
    mac: bytes


def encode_no_bundle_message(header: bytes, ciphertext: bytes, mac: bytes) -> bytes:
    return pb.NoBundleMessage(header=header, ciphertext=ciphertext, mac=mac).SerializeToString()


def no_bundle_message_from_pb(
    message: pb.NoBundleMessage, policy: VersionPolicy = CURRENT_POLICY
) -> DecodedNoBundleMessage:
    if not message.header:
        raise MalformedMessage("no-bundle message has no header")
    try:
        header = pb.NoBundleHeader.FromString(message.header)
    except DecodeError:
        raise MalformedMessage("no-bundle header does not decode") from None
    policy.check_readable(header.version)
    if not header.HasField("sender_identity"):
        raise MalformedMessage("no-bundle header has no sender identity")
    decoded_header = NoBundleHeader(
        header.version,
        identity_from_pb(header.sender_identity),
        _key(header.ephemeral_key, "ephemeral key"),
        _key(header.recipient_dh_key, "recipient DH key"),
    )
    ciphertext = message.ciphertext
    if not ciphertext or len(ciphertext) % AES_BLOCK_SIZE:
        raise MalformedMessage("ciphertext length must be a non-zero multiple of 16")
    if len(message.mac) != MAC_SIZE:
        raise MalformedMessage(f"MAC must be {MAC_SIZE} bytes")
    return DecodedNoBundleMessage(
        decoded_header,
        message.header,
        ciphertext,
        message.mac,
    )


def decode_no_bundle_message(
    data: bytes, policy: VersionPolicy = CURRENT_POLICY, profile: Profile = PROFILE_1
) -> DecodedNoBundleMessage:
    return no_bundle_message_from_pb(
        _parse(pb.NoBundleMessage, data, "no-bundle message", profile), policy
    )


# -- envelopes --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstallationMessage:
    """One copy of a message for one installation (``None``: any installation).

    ``body`` is the encoded RatchetMessage or NoBundleMessage; ``kind`` says
    which: ``"ratchet"`` or ``"no_bundle"``.
    """

    recipient_installation_id: bytes | None
    kind: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a transport carries (WIRE-040)."""

    version: int
    sender_installation_id: bytes
    messages: tuple[InstallationMessage, ...]
    sender_bundle: object | None = None  # a parley.bundle.Bundle

    def for_installation(self, installation_id: bytes) -> InstallationMessage | None:
        """The first copy addressed to ``installation_id``, else the first no-bundle
        copy, else None (MULTI-003)."""
        fallback = None
        for copy in self.messages:
            if copy.recipient_installation_id == installation_id:
                return copy
            if copy.recipient_installation_id is None and fallback is None:
                fallback = copy
        return fallback


def encode_envelope(envelope: Envelope) -> bytes:
    message = pb.Envelope(
        version=envelope.version, sender_installation_id=envelope.sender_installation_id
    )
    for copy in envelope.messages:
        item = message.messages.add(recipient_installation_id=copy.recipient_installation_id or b"")
        target = item.ratchet if copy.kind == "ratchet" else item.no_bundle
        target.MergeFromString(copy.body)
    if envelope.sender_bundle is not None:
        message.sender_bundle.CopyFrom(bundle_to_pb(envelope.sender_bundle))
    return message.SerializeToString()


def decode_envelope(
    data: bytes, policy: VersionPolicy = CURRENT_POLICY, profile: Profile = PROFILE_1
) -> Envelope:
    """Decode an envelope; each copy's body stays encoded until it is decrypted."""
    message = _parse(pb.Envelope, data, "envelope", profile)
    if message.version != ENVELOPE_FORMAT_VERSION:  # VERSION-004: not a protocol version
        raise UnsupportedVersion(f"envelope format version {message.version} is not known")
    copies = []
    for item in message.messages:
        kind = item.WhichOneof("body")
        if kind is None:
            raise MalformedMessage("an installation message has no body")
        recipient = item.recipient_installation_id
        if kind == "ratchet":
            recipient = _installation_id(recipient, "recipient installation id")
        elif recipient:
            raise MalformedMessage("a no-bundle message is addressed to no installation")
        body = getattr(item, kind)
        body.DiscardUnknownFields()  # WIRE-007: the canonical encoding, without unknown fields
        copies.append(InstallationMessage(recipient or None, kind, body.SerializeToString()))
    return Envelope(
        message.version,
        _installation_id(message.sender_installation_id, "sender installation id"),
        tuple(copies),
        bundle_from_pb(message.sender_bundle) if message.HasField("sender_bundle") else None,
    )
