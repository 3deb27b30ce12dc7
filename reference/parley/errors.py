"""The one error tree of Parley (spec: errors.md, the error-code registry).

Every failure the spec names is one class here, with the registry's code on it:

* :class:`LocalError` -- the caller misused the API (wrong type, wrong size, a
  session used in the wrong state). Fix the calling code.
* :class:`RemoteError` -- the peer (or the network) supplied bad input. The
  input is rejected and every state is left exactly as it was.

No error message ever contains key material or plaintext: messages are built
from lengths, identifiers and fixed text only.
"""

from __future__ import annotations

__all__ = [
    "BundleSignatureInvalid",
    "BundleStale",
    "BundleTimestampInFuture",
    "DuplicateMessage",
    "InvalidArgument",
    "InvalidIdentityBinding",
    "InvalidKey",
    "InvalidMac",
    "InvalidPadding",
    "InvalidSignature",
    "LocalError",
    "MalformedMessage",
    "MessageTooLarge",
    "ParleyError",
    "RemoteError",
    "ReplayedInitialMessage",
    "SessionStateError",
    "StateFormatError",
    "TooManySkippedMessages",
    "UnknownInstallation",
    "UnknownPreKey",
    "UnsupportedProfile",
    "UnsupportedVersion",
    "ZeroSharedSecret",
]


class ParleyError(Exception):
    """Base of every error Parley raises. ``code`` is the registry's code."""

    code: str = "PARLEY_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class LocalError(ParleyError):
    """The caller misused the API."""

    code = "LOCAL_ERROR"


class RemoteError(ParleyError):
    """The peer or the network supplied input that Parley rejects."""

    code = "REMOTE_ERROR"


# -- local misuse ----------------------------------------------------------


class InvalidArgument(LocalError, ValueError):
    """An argument has the wrong type, length or value."""

    code = "INVALID_ARGUMENT"


class SessionStateError(LocalError):
    """The operation is not possible in the session's current state."""

    code = "SESSION_STATE"


class StateFormatError(LocalError):
    """A saved state could not be loaded (corrupt, or a newer format)."""

    code = "STATE_FORMAT"


# -- remote input ------------------------------------------------------------


class MalformedMessage(RemoteError):
    """Bytes that do not decode, or a field with a wrong length or value."""

    code = "MALFORMED_MESSAGE"


class MessageTooLarge(RemoteError):
    """A message or plaintext above the profile's size limit."""

    code = "MESSAGE_TOO_LARGE"


class UnsupportedVersion(RemoteError):
    """A protocol version this implementation does not read."""

    code = "UNSUPPORTED_VERSION"


class UnsupportedProfile(RemoteError):
    """A profile (cipher suite) this implementation does not implement."""

    code = "UNSUPPORTED_PROFILE"


class InvalidKey(RemoteError):
    """A public key with a wrong length or encoding."""

    code = "INVALID_KEY"


class ZeroSharedSecret(RemoteError):
    """An X25519 output of all zeros: the peer's key is a low-order point."""

    code = "ZERO_SHARED_SECRET"


class InvalidSignature(RemoteError):
    """An Ed25519 signature that does not verify."""

    code = "INVALID_SIGNATURE"


class InvalidIdentityBinding(InvalidSignature):
    """The signature binding an identity's X25519 key to its signing key fails."""

    code = "INVALID_IDENTITY_BINDING"


class BundleSignatureInvalid(InvalidSignature):
    """A bundle whose signature does not verify."""

    code = "BUNDLE_SIGNATURE_INVALID"


class BundleStale(RemoteError):
    """A bundle older than the profile's maximum bundle age."""

    code = "BUNDLE_STALE"


class BundleTimestampInFuture(RemoteError):
    """A bundle signed later than now plus the allowed clock skew."""

    code = "BUNDLE_TIMESTAMP_IN_FUTURE"


class UnknownInstallation(RemoteError):
    """A bundle has no entry for the installation an initiator asked for."""

    code = "UNKNOWN_INSTALLATION"


class UnknownPreKey(RemoteError):
    """An initial message names a prekey that is unknown or already deleted."""

    code = "UNKNOWN_PREKEY"


class ReplayedInitialMessage(RemoteError):
    """An initial (X3DH) message that was already accepted once."""

    code = "REPLAYED_INITIAL_MESSAGE"


class InvalidMac(RemoteError):
    """The message's MAC does not verify: it was forged, corrupted or misdirected."""

    code = "INVALID_MAC"


class InvalidPadding(RemoteError):
    """The decrypted plaintext has invalid PKCS#7 padding."""

    code = "INVALID_PADDING"


class DuplicateMessage(RemoteError):
    """No key is held for this message: it was already decrypted, or its key expired."""

    code = "DUPLICATE_MESSAGE"


class TooManySkippedMessages(RemoteError):
    """The message would skip more than MAX_SKIP message keys in one chain."""

    code = "TOO_MANY_SKIPPED_MESSAGES"


#: Every error class by its registry code.
ERROR_CODES: dict[str, type[ParleyError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        SessionStateError,
        StateFormatError,
        MalformedMessage,
        MessageTooLarge,
        UnsupportedVersion,
        UnsupportedProfile,
        InvalidKey,
        ZeroSharedSecret,
        InvalidSignature,
        InvalidIdentityBinding,
        BundleSignatureInvalid,
        BundleStale,
        BundleTimestampInFuture,
        UnknownInstallation,
        UnknownPreKey,
        ReplayedInitialMessage,
        InvalidMac,
        InvalidPadding,
        DuplicateMessage,
        TooManySkippedMessages,
    )
}
