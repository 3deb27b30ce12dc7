/**
 * The local state format parley.local.v1 (spec/storage.md): sessions,
 * installations and identities saved with the generated codec. A loader
 * refuses a record of another format version, one that does not decode, a
 * field of the wrong length or an identity whose binding does not verify,
 * with STATE_FORMAT, and never returns a partly loaded object (STORE-010).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { toHex } from "./bytes.js";
import { ParleyError, StateFormatError } from "./errors.js";
import {
  IdentityStateSchema,
  InstallationStateSchema,
  OneTimePreKeyStateSchema,
  PendingX3DHSchema,
  RetiredChainSchema,
  SeenInitialMessageSchema,
  SessionStateSchema,
  SignedPreKeyStateSchema,
  SkippedMessageKeySchema,
} from "./gen/parley/local/v1/state_pb.js";
import type { IdentityState, SessionState } from "./gen/parley/local/v1/state_pb.js";
import { IdentityKeyPair, Installation, oneTimePreKey, PublicIdentity, signedPreKey } from "./keys.js";
import { IDENTITY_LEN, INSTALLATION_ID_LEN, KEY_LEN, PROFILE_ID } from "./profile.js";
import { Session, type SessionFields, type SkippedKey } from "./session.js";
import { DEFAULT_POLICY, type VersionPolicy } from "./versioning.js";
import { withDeclaredWireTypes } from "./wiretype.js";

export const FORMAT_VERSION = 1;

function need(cond: boolean, what: string): void {
  if (!cond) throw new StateFormatError(what);
}

function key(b: Uint8Array, what: string): Uint8Array {
  need(b.length === KEY_LEN, `${what} must be 32 bytes`);
  return b;
}

function optKey(b: Uint8Array, what: string): Uint8Array | undefined {
  if (b.length === 0) return undefined;
  return key(b, what);
}

function identity(b: Uint8Array, what: string): PublicIdentity {
  need(b.length === IDENTITY_LEN, `${what} must be 128 bytes`);
  try {
    return PublicIdentity.fromBytes(b);
  } catch (e) {
    if (e instanceof ParleyError) throw new StateFormatError(`${what} binding does not verify`);
    throw e;
  }
}

function decode<T>(fn: () => T): T {
  try {
    return fn();
  } catch {
    throw new StateFormatError("the record does not decode");
  }
}

/** A session as parley.local.v1.SessionState bytes. */
export function saveSession(session: Session): Uint8Array {
  const s = session.fields();
  const msg: SessionState = create(SessionStateSchema, {
    formatVersion: FORMAT_VERSION,
    profile: s.profile,
    version: s.version,
    initiator: s.initiator,
    localIdentity: s.localIdentity.toBytes(),
    remoteIdentity: s.remoteIdentity.toBytes(),
    localInstallationId: s.localInstallationId,
    remoteInstallationId: s.remoteInstallationId,
    rootKey: s.rootKey,
    sendingRatchetPrivateKey: s.sendingRatchetPrivateKey,
    sendingChainKey: s.sendingChainKey ?? new Uint8Array(0),
    sendingMessageNumber: s.sendingMessageNumber,
    receivingRatchetKey: s.receivingRatchetKey ?? new Uint8Array(0),
    receivingChainKey: s.receivingChainKey ?? new Uint8Array(0),
    receivingMessageNumber: s.receivingMessageNumber,
    previousSendingChainLength: s.previousSendingChainLength,
    skippedMessageKeys: [...s.skipped.values()].map((k) =>
      create(SkippedMessageKeySchema, { ratchetKey: k.ratchetKey, messageNumber: k.messageNumber, messageKey: k.messageKey }),
    ),
    retiredChains: s.retired.map((c) => create(RetiredChainSchema, { ratchetKey: c.ratchetKey, length: c.length })),
    ephemeralKey: s.ephemeralKey,
  });
  if (s.pendingX3dh !== undefined) {
    const p = create(PendingX3DHSchema, { signedPrekeyId: s.pendingX3dh.signedPreKeyId });
    if (s.pendingX3dh.oneTimePreKeyId !== undefined) p.oneTimePrekeyId = s.pendingX3dh.oneTimePreKeyId;
    msg.pendingX3dh = p;
  }
  return toBinary(SessionStateSchema, msg);
}

/** Load a session saved by saveSession (this implementation's or another's). */
/**
 * Load a session saved by saveSession (this implementation's or another's).
 * `reads`: the versions its installation reads; by default the default
 * policy's. A loaded session always reads its own version too (STORE-010).
 */
export function loadSession(bytes: Uint8Array, reads: readonly number[] = DEFAULT_POLICY.reads): Session {
  const m = decode(() => fromBinary(SessionStateSchema, withDeclaredWireTypes(SessionStateSchema, bytes)));
  need(m.formatVersion === FORMAT_VERSION, `format version ${m.formatVersion} is not read`);
  need(m.profile === PROFILE_ID, `profile ${m.profile} is not implemented`);
  need(m.version >= 1, "a session has a protocol version");
  need(m.localInstallationId.length === INSTALLATION_ID_LEN, "local installation id must be 16 bytes");
  need(m.remoteInstallationId.length === INSTALLATION_ID_LEN, "remote installation id must be 16 bytes");
  const receivingRatchetKey = optKey(m.receivingRatchetKey, "receiving ratchet key");
  const receivingChainKey = optKey(m.receivingChainKey, "receiving chain key");
  need((receivingChainKey === undefined) === (receivingRatchetKey === undefined), "a receiving chain has a ratchet key");
  const skipped = new Map<string, SkippedKey>();
  for (const k of m.skippedMessageKeys) {
    const sk: SkippedKey = {
      ratchetKey: key(k.ratchetKey, "skipped key ratchet key"),
      messageNumber: k.messageNumber,
      messageKey: key(k.messageKey, "skipped message key"),
    };
    const id = toHex(sk.ratchetKey) + ":" + sk.messageNumber;
    need(!skipped.has(id), "a skipped key repeats");
    skipped.set(id, sk);
  }
  const fields: SessionFields = {
    profile: m.profile,
    version: m.version,
    initiator: m.initiator,
    localIdentity: identity(m.localIdentity, "local identity"),
    remoteIdentity: identity(m.remoteIdentity, "remote identity"),
    localInstallationId: m.localInstallationId,
    remoteInstallationId: m.remoteInstallationId,
    rootKey: key(m.rootKey, "root key"),
    sendingRatchetPrivateKey: key(m.sendingRatchetPrivateKey, "sending ratchet private key"),
    sendingChainKey: optKey(m.sendingChainKey, "sending chain key"),
    sendingMessageNumber: m.sendingMessageNumber,
    receivingRatchetKey,
    receivingChainKey,
    receivingMessageNumber: m.receivingMessageNumber,
    previousSendingChainLength: m.previousSendingChainLength,
    skipped,
    retired: m.retiredChains.map((c) => ({ ratchetKey: key(c.ratchetKey, "retired chain ratchet key"), length: c.length })),
    pendingX3dh:
      m.pendingX3dh === undefined
        ? undefined
        : { signedPreKeyId: m.pendingX3dh.signedPrekeyId, oneTimePreKeyId: m.pendingX3dh.oneTimePrekeyId },
    ephemeralKey: key(m.ephemeralKey, "ephemeral key"),
  };
  need(!(fields.pendingX3dh !== undefined && !fields.initiator), "only an initiator has pending X3DH data");
  return new Session(fields, reads.includes(fields.version) ? reads : [...reads, fields.version].sort((a, b) => a - b));
}

/** An installation's prekeys and replay guard as parley.local.v1.InstallationState. */
export function saveInstallation(inst: Installation): Uint8Array {
  return toBinary(
    InstallationStateSchema,
    create(InstallationStateSchema, {
      formatVersion: FORMAT_VERSION,
      installationId: inst.installationId,
      signedPrekeys: inst.signedPreKeys.map((k) =>
        create(SignedPreKeyStateSchema, { id: k.id, privateKey: k.privateKey, createdAt: k.createdAt, supersededAt: k.supersededAt }),
      ),
      oneTimePrekeys: inst.oneTimePreKeys.map((k) => create(OneTimePreKeyStateSchema, { id: k.id, privateKey: k.privateKey })),
      nextPrekeyId: inst.nextPreKeyId,
      seenInitialMessages: inst.seenInitialMessages.map((s) =>
        create(SeenInitialMessageSchema, { signedPrekeyId: s.signedPreKeyId, ephemeralKey: s.ephemeralKey }),
      ),
    }),
  );
}

/** Load an installation; the identity and the version policy are stored apart. */
export function loadInstallation(bytes: Uint8Array, identityKeys: IdentityKeyPair, policy?: VersionPolicy): Installation {
  const m = decode(() => fromBinary(InstallationStateSchema, withDeclaredWireTypes(InstallationStateSchema, bytes)));
  need(m.formatVersion === FORMAT_VERSION, `format version ${m.formatVersion} is not read`);
  need(m.installationId.length === INSTALLATION_ID_LEN, "installation id must be 16 bytes");
  need(m.signedPrekeys.length > 0, "an installation has a signed prekey");
  const spks = m.signedPrekeys.map((k) => signedPreKey(k.id, key(k.privateKey, "signed prekey"), k.createdAt, k.supersededAt));
  const opks = m.oneTimePrekeys.map((k) => oneTimePreKey(k.id, key(k.privateKey, "one-time prekey")));
  const init: ConstructorParameters<typeof Installation>[0] = {
    identity: identityKeys,
    installationId: m.installationId,
    signedPreKeys: spks,
    oneTimePreKeys: opks,
    nextPreKeyId: m.nextPrekeyId,
    seenInitialMessages: m.seenInitialMessages.map((s) => ({
      signedPreKeyId: s.signedPrekeyId,
      ephemeralKey: key(s.ephemeralKey, "replay guard ephemeral key"),
    })),
  };
  if (policy !== undefined) init.policy = policy;
  try {
    return new Installation(init);
  } catch (e) {
    if (e instanceof ParleyError) throw new StateFormatError("the installation record is inconsistent");
    throw e;
  }
}

export function saveIdentity(id: IdentityKeyPair): Uint8Array {
  const msg: IdentityState = create(IdentityStateSchema, {
    formatVersion: FORMAT_VERSION,
    profile: id.profile,
    signingPrivateKey: id.signingPrivateKey,
    dhPrivateKey: id.dhPrivateKey,
    bindingSignature: id.publicIdentity.bindingSignature,
  });
  return toBinary(IdentityStateSchema, msg);
}

export function loadIdentity(bytes: Uint8Array): IdentityKeyPair {
  const m = decode(() => fromBinary(IdentityStateSchema, withDeclaredWireTypes(IdentityStateSchema, bytes)));
  need(m.formatVersion === FORMAT_VERSION, `format version ${m.formatVersion} is not read`);
  need(m.profile === PROFILE_ID, `profile ${m.profile} is not implemented`);
  key(m.signingPrivateKey, "signing private key");
  key(m.dhPrivateKey, "DH private key");
  const id = IdentityKeyPair.fromPrivateKeys(m.signingPrivateKey, m.dhPrivateKey, m.profile);
  need(m.bindingSignature.length === 64, "binding signature must be 64 bytes");
  let same = true;
  for (let i = 0; i < 64; i++) if (m.bindingSignature[i] !== id.publicIdentity.bindingSignature[i]) same = false;
  need(same, "binding signature does not verify");
  return id;
}
