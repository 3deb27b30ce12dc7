/**
 * The error registry of spec/errors.md as one tree of typed errors.
 *
 * `ParleyError` is the root; `LocalError` means the caller misused the API,
 * `RemoteError` that the peer or the network supplied input that is rejected.
 * Every class carries the registry code; messages hold lengths, identifiers
 * and fixed text only, never key material (ERR-003).
 */

export type ErrorCode =
  | "PARLEY_ERROR"
  | "LOCAL_ERROR"
  | "REMOTE_ERROR"
  | "INVALID_ARGUMENT"
  | "SESSION_STATE"
  | "STATE_FORMAT"
  | "MALFORMED_MESSAGE"
  | "MESSAGE_TOO_LARGE"
  | "UNSUPPORTED_VERSION"
  | "UNSUPPORTED_PROFILE"
  | "INVALID_KEY"
  | "ZERO_SHARED_SECRET"
  | "INVALID_SIGNATURE"
  | "INVALID_IDENTITY_BINDING"
  | "BUNDLE_SIGNATURE_INVALID"
  | "BUNDLE_STALE"
  | "BUNDLE_TIMESTAMP_IN_FUTURE"
  | "UNKNOWN_INSTALLATION"
  | "UNKNOWN_PREKEY"
  | "REPLAYED_INITIAL_MESSAGE"
  | "INVALID_MAC"
  | "INVALID_PADDING"
  | "DUPLICATE_MESSAGE"
  | "TOO_MANY_SKIPPED_MESSAGES"
  | "INVALID_CONTACT_CODE";

export class ParleyError extends Error {
  static readonly code: ErrorCode = "PARLEY_ERROR";
  readonly code: ErrorCode;
  constructor(message?: string) {
    const code = (new.target as unknown as { code: ErrorCode }).code;
    super(message === undefined ? code : `${code}: ${message}`);
    this.code = code;
    this.name = new.target.name;
  }
}

export class LocalError extends ParleyError {
  static override readonly code: ErrorCode = "LOCAL_ERROR";
}
export class RemoteError extends ParleyError {
  static override readonly code: ErrorCode = "REMOTE_ERROR";
}

export class InvalidArgument extends LocalError {
  static override readonly code: ErrorCode = "INVALID_ARGUMENT";
}
export class SessionStateError extends LocalError {
  static override readonly code: ErrorCode = "SESSION_STATE";
}
export class StateFormatError extends LocalError {
  static override readonly code: ErrorCode = "STATE_FORMAT";
}

export class MalformedMessage extends RemoteError {
  static override readonly code: ErrorCode = "MALFORMED_MESSAGE";
}
export class MessageTooLarge extends RemoteError {
  static override readonly code: ErrorCode = "MESSAGE_TOO_LARGE";
}
export class UnsupportedVersion extends RemoteError {
  static override readonly code: ErrorCode = "UNSUPPORTED_VERSION";
}
export class UnsupportedProfile extends RemoteError {
  static override readonly code: ErrorCode = "UNSUPPORTED_PROFILE";
}
export class InvalidKey extends RemoteError {
  static override readonly code: ErrorCode = "INVALID_KEY";
}
export class ZeroSharedSecret extends RemoteError {
  static override readonly code: ErrorCode = "ZERO_SHARED_SECRET";
}
export class InvalidSignature extends RemoteError {
  static override readonly code: ErrorCode = "INVALID_SIGNATURE";
}
export class InvalidIdentityBinding extends InvalidSignature {
  static override readonly code: ErrorCode = "INVALID_IDENTITY_BINDING";
}
export class BundleSignatureInvalid extends InvalidSignature {
  static override readonly code: ErrorCode = "BUNDLE_SIGNATURE_INVALID";
}
export class BundleStale extends RemoteError {
  static override readonly code: ErrorCode = "BUNDLE_STALE";
}
export class BundleTimestampInFuture extends RemoteError {
  static override readonly code: ErrorCode = "BUNDLE_TIMESTAMP_IN_FUTURE";
}
export class UnknownInstallation extends RemoteError {
  static override readonly code: ErrorCode = "UNKNOWN_INSTALLATION";
}
export class UnknownPreKey extends RemoteError {
  static override readonly code: ErrorCode = "UNKNOWN_PREKEY";
}
export class ReplayedInitialMessage extends RemoteError {
  static override readonly code: ErrorCode = "REPLAYED_INITIAL_MESSAGE";
}
export class InvalidMac extends RemoteError {
  static override readonly code: ErrorCode = "INVALID_MAC";
}
export class InvalidPadding extends RemoteError {
  static override readonly code: ErrorCode = "INVALID_PADDING";
}
export class DuplicateMessage extends RemoteError {
  static override readonly code: ErrorCode = "DUPLICATE_MESSAGE";
}
export class TooManySkippedMessages extends RemoteError {
  static override readonly code: ErrorCode = "TOO_MANY_SKIPPED_MESSAGES";
}

/** A library code (spec/errors.md, "Library codes"): a contact code text against CONTACT-003. */
export class InvalidContactCode extends RemoteError {
  static override readonly code: ErrorCode = "INVALID_CONTACT_CODE";
}

/** Every class of the registry, by code. */
export const ERROR_CLASSES: Readonly<Record<ErrorCode, typeof ParleyError>> = {
  PARLEY_ERROR: ParleyError,
  LOCAL_ERROR: LocalError,
  REMOTE_ERROR: RemoteError,
  INVALID_ARGUMENT: InvalidArgument,
  SESSION_STATE: SessionStateError,
  STATE_FORMAT: StateFormatError,
  MALFORMED_MESSAGE: MalformedMessage,
  MESSAGE_TOO_LARGE: MessageTooLarge,
  UNSUPPORTED_VERSION: UnsupportedVersion,
  UNSUPPORTED_PROFILE: UnsupportedProfile,
  INVALID_KEY: InvalidKey,
  ZERO_SHARED_SECRET: ZeroSharedSecret,
  INVALID_SIGNATURE: InvalidSignature,
  INVALID_IDENTITY_BINDING: InvalidIdentityBinding,
  BUNDLE_SIGNATURE_INVALID: BundleSignatureInvalid,
  BUNDLE_STALE: BundleStale,
  BUNDLE_TIMESTAMP_IN_FUTURE: BundleTimestampInFuture,
  UNKNOWN_INSTALLATION: UnknownInstallation,
  UNKNOWN_PREKEY: UnknownPreKey,
  REPLAYED_INITIAL_MESSAGE: ReplayedInitialMessage,
  INVALID_MAC: InvalidMac,
  INVALID_PADDING: InvalidPadding,
  DUPLICATE_MESSAGE: DuplicateMessage,
  TOO_MANY_SKIPPED_MESSAGES: TooManySkippedMessages,
  INVALID_CONTACT_CODE: InvalidContactCode,
};
