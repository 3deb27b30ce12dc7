/**
 * Bundles (spec/bundle.md): signing (BUNDLE-001, BUNDLE-004, BUNDLE-010) and
 * verification in the order of BUNDLE-011 and BUNDLE-020.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { compare, concat, u16, u32, u64, u8 } from "./bytes.js";
import { checkInstallationId, checkKey, checkSize, encodeIdentityKey, identityFields, parse, type IdentityFields } from "./codec.js";
import {
  BundleSignatureInvalid,
  BundleStale,
  BundleTimestampInFuture,
  InvalidArgument,
  InvalidSignature,
  MalformedMessage,
  UnknownInstallation,
  UnsupportedProfile,
} from "./errors.js";
import { BundleSchema, InstallationPreKeysSchema, OneTimePreKeySchema } from "./gen/parley/v1/wire_pb.js";
import type { Bundle } from "./gen/parley/v1/wire_pb.js";
import { type Installation, PublicIdentity } from "./keys.js";
import { ed25519Verify } from "./primitives.js";
import {
  BUNDLE_LABEL,
  BUNDLE_MAX_AGE,
  CLOCK_SKEW,
  MAX_INSTALLATIONS,
  MAX_ONE_TIME_PREKEYS,
  MAX_PROTOCOL_VERSIONS,
  PROFILE_ID,
  SIGNATURE_LEN,
} from "./profile.js";

export interface BundleOneTimePreKey {
  readonly id: number;
  readonly publicKey: Uint8Array;
}

export interface BundleEntry {
  readonly installationId: Uint8Array;
  readonly signedPreKeyId: number;
  readonly signedPreKey: Uint8Array;
  readonly protocolVersions: readonly number[];
  readonly oneTimePreKeys: readonly BundleOneTimePreKey[];
}

/** A bundle whose signature, limits and age have been checked. */
export interface VerifiedBundle {
  readonly profile: number;
  readonly identity: PublicIdentity;
  readonly timestamp: bigint;
  readonly entries: readonly BundleEntry[];
  readonly signedBytes: Uint8Array;
}

/** The signed bundle bytes of BUNDLE-010. */
export function signedBundleBytes(
  profile: number,
  signingKey: Uint8Array,
  dhKey: Uint8Array,
  timestamp: bigint,
  entries: readonly BundleEntry[],
): Uint8Array {
  const parts: Uint8Array[] = [BUNDLE_LABEL, u8(profile), signingKey, dhKey, u64(timestamp), u16(entries.length)];
  for (const e of entries) {
    parts.push(e.installationId, u32(e.signedPreKeyId), e.signedPreKey, u8(e.protocolVersions.length));
    for (const v of e.protocolVersions) parts.push(u32(v));
    parts.push(u16(e.oneTimePreKeys.length));
    for (const k of e.oneTimePreKeys) parts.push(u32(k.id), k.publicKey);
  }
  return concat(...parts);
}

/** BUNDLE-004; `fail` makes the error (MALFORMED_MESSAGE on receipt, INVALID_ARGUMENT on creation). */
function checkEntries(entries: readonly BundleEntry[], fail: (m: string) => Error): void {
  if (entries.length < 1 || entries.length > MAX_INSTALLATIONS) throw fail(`a bundle has 1 to 32 entries, got ${entries.length}`);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0 && compare(entries[i - 1]!.installationId, e.installationId) >= 0) {
      throw fail("entries must be sorted by installation id without repeats");
    }
    if (e.oneTimePreKeys.length > MAX_ONE_TIME_PREKEYS) throw fail(`an entry has at most 100 one-time prekeys`);
    if (new Set(e.oneTimePreKeys.map((k) => k.id)).size !== e.oneTimePreKeys.length) throw fail("one-time prekey ids repeat");
    const vs = e.protocolVersions;
    if (vs.length < 1 || vs.length > MAX_PROTOCOL_VERSIONS) throw fail("an entry lists 1 to 255 protocol versions");
    for (let j = 0; j < vs.length; j++) {
      if (vs[j]! < 1 || (j > 0 && vs[j - 1]! >= vs[j]!)) throw fail("protocol versions must be ascending, unique, at least 1");
    }
  }
}

/**
 * Sign a bundle for installations of one account at `now` (BUNDLE-001).
 * `oneTimePreKeyLimit`: at most this many one-time prekeys per entry, lowest ids first.
 */
export function createBundle(installations: readonly Installation[], now: bigint, oneTimePreKeyLimit?: number): Uint8Array {
  if (installations.length === 0) throw new InvalidArgument("a bundle needs an installation");
  const identity = installations[0]!.identity;
  for (const inst of installations) {
    if (!inst.identity.publicIdentity.equals(identity.publicIdentity)) {
      throw new InvalidArgument("the installations of a bundle belong to one account");
    }
  }
  const entries: BundleEntry[] = installations
    .map((inst) => {
      const spk = inst.currentSignedPreKey;
      let opks = [...inst.oneTimePreKeys].sort((a, b) => a.id - b.id);
      if (oneTimePreKeyLimit !== undefined) opks = opks.slice(0, oneTimePreKeyLimit);
      return {
        installationId: inst.installationId,
        signedPreKeyId: spk.id,
        signedPreKey: spk.publicKey,
        protocolVersions: [...inst.policy.reads],
        oneTimePreKeys: opks.map((k) => ({ id: k.id, publicKey: k.publicKey })),
      };
    })
    .sort((a, b) => compare(a.installationId, b.installationId));
  checkEntries(entries, (m) => new InvalidArgument(m));
  const pub = identity.publicIdentity;
  const signature = identity.sign(signedBundleBytes(identity.profile, pub.signingKey, pub.dhKey, now, entries));
  const msg: Bundle = create(BundleSchema, {
    profile: identity.profile,
    identity: encodeIdentityKey(pub),
    installations: entries.map((e) =>
      create(InstallationPreKeysSchema, {
        installationId: e.installationId,
        signedPrekeyId: e.signedPreKeyId,
        signedPrekey: e.signedPreKey,
        protocolVersions: [...e.protocolVersions],
        oneTimePrekeys: e.oneTimePreKeys.map((k) => create(OneTimePreKeySchema, { id: k.id, publicKey: k.publicKey })),
      }),
    ),
    timestamp: now,
    signature,
  });
  return toBinary(BundleSchema, msg);
}

/**
 * BUNDLE-011 steps 2 and 3 on a decoded bundle: the identity's fields, each
 * entry's fields, then the rules that do not depend on the profile. Also used
 * for a bundle attached to an envelope (WIRE-007).
 */
export function checkBundleStructure(b: Bundle): { identity: IdentityFields; entries: BundleEntry[] } {
  const identity = identityFields(b.identity, "bundle identity");
  const entries: BundleEntry[] = b.installations.map((e) => {
    const installationId = checkInstallationId(e.installationId, "installation id");
    const signedPreKey = checkKey(e.signedPrekey, "signed prekey");
    const vs = e.protocolVersions;
    if (vs.length < 1 || vs.length > MAX_PROTOCOL_VERSIONS) throw new MalformedMessage("an entry lists 1 to 255 protocol versions");
    for (let j = 0; j < vs.length; j++) {
      if (vs[j]! < 1 || (j > 0 && vs[j - 1]! >= vs[j]!)) throw new MalformedMessage("protocol versions must be strictly ascending, from 1");
    }
    if (new Set(e.oneTimePrekeys.map((k) => k.id)).size !== e.oneTimePrekeys.length) throw new MalformedMessage("one-time prekey ids repeat");
    const oneTimePreKeys = e.oneTimePrekeys.map((k) => ({ id: k.id, publicKey: checkKey(k.publicKey, "one-time prekey") }));
    return { installationId, signedPreKeyId: e.signedPrekeyId, signedPreKey, protocolVersions: vs, oneTimePreKeys };
  });
  if (b.profile < 1 || b.profile > 255) throw new MalformedMessage(`profile ${b.profile} is not 1 to 255`);
  if (entries.length < 1) throw new MalformedMessage("a bundle has at least one entry");
  for (let i = 1; i < entries.length; i++) {
    if (compare(entries[i - 1]!.installationId, entries[i]!.installationId) >= 0) {
      throw new MalformedMessage("entries must be sorted by installation id without repeats");
    }
  }
  if (b.signature.length !== SIGNATURE_LEN) throw new MalformedMessage(`bundle signature must be 64 bytes, got ${b.signature.length}`);
  return { identity, entries };
}

/** Decode and verify a bundle against the clock, in the order of BUNDLE-011 (and BUNDLE-020). */
export function verifyBundle(bytes: Uint8Array, now: bigint, profile: number = PROFILE_ID): VerifiedBundle {
  checkSize(bytes, "bundle");
  const b = parse(BundleSchema, bytes, "bundle");
  const { identity: idf, entries } = checkBundleStructure(b);
  if (b.profile !== profile || b.profile !== PROFILE_ID) throw new UnsupportedProfile(`profile ${b.profile} is not implemented`);
  if (entries.length > MAX_INSTALLATIONS) throw new MalformedMessage(`a bundle has at most 32 entries, got ${entries.length}`);
  if (entries.some((e) => e.oneTimePreKeys.length > MAX_ONE_TIME_PREKEYS)) throw new MalformedMessage("an entry has at most 100 one-time prekeys");
  const identity = PublicIdentity.verify(idf, b.profile);
  const signedBytes = signedBundleBytes(b.profile, idf.signingKey, idf.dhKey, b.timestamp, entries);
  try {
    ed25519Verify(idf.signingKey, signedBytes, b.signature);
  } catch (e) {
    if (e instanceof InvalidSignature) throw new BundleSignatureInvalid("bundle signature does not verify");
    throw e;
  }
  if (b.timestamp > now + CLOCK_SKEW) throw new BundleTimestampInFuture("bundle signed more than 300 s after now");
  if (now > b.timestamp && now - b.timestamp > BUNDLE_MAX_AGE) throw new BundleStale("bundle is more than 30 days old");
  return { profile: b.profile, identity, timestamp: b.timestamp, entries, signedBytes };
}

/** The entry of an installation, or UNKNOWN_INSTALLATION. */
export function findEntry(bundle: VerifiedBundle, installationId: Uint8Array): BundleEntry {
  const e = bundle.entries.find((x) => compare(x.installationId, installationId) === 0);
  if (e === undefined) throw new UnknownInstallation("the bundle has no entry for that installation");
  return e;
}
