/**
 * @parley/protocol: the sans-IO core of Parley (spec/), protocol version 1,
 * profile 1. No Node-only API: it runs in browsers and in Node alike.
 */
export * from "./errors.js";
export * as profile from "./profile.js";
export { concat, fromHex, toHex } from "./bytes.js";
export { DeterministicRandom, systemRandom, type RandomSource } from "./primitives.js";
export { negotiate, makePolicy, DEFAULT_POLICY, type VersionPolicy } from "./versioning.js";
export {
  IdentityKeyPair,
  PublicIdentity,
  Installation,
  signedPreKey,
  oneTimePreKey,
  type SignedPreKeyPair,
  type OneTimePreKeyPair,
  type SeenInitialMessage,
} from "./keys.js";
export { createBundle, verifyBundle, signedBundleBytes, findEntry, type VerifiedBundle, type BundleEntry } from "./bundle.js";
export { associatedData, x3dhInitiator, x3dhResponder } from "./x3dh.js";
export { kdfRk, kdfCk, messageKeys, x3dhKdf, noBundleKdf } from "./kdf.js";
export { Session, type SessionFields } from "./session.js";
export { sealNoBundle, openNoBundle, type OpenedNoBundle, type NoBundleReplayCache } from "./nobundle.js";
export { encodeEnvelope, decodeEnvelope, type EnvelopeParts, type EnvelopeCopy, type CopyKind } from "./envelope.js";
export { decodeRatchetMessage, decodeNoBundleMessage } from "./codec.js";
export { saveSession, loadSession, saveInstallation, loadInstallation, saveIdentity, loadIdentity } from "./state.js";
export { encodeContactCode, decodeContactCode } from "./contact.js";
export { encodePayload, decodePayload, PayloadKind, type Payload } from "./payload.js";
export { chooseSession, selectCopy, decideFailure, type SessionCandidate, type CopySelection, type FailureAction } from "./multidevice.js";
