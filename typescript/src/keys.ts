/**
 * Identities and installations (spec/keys.md): the account's Ed25519 +
 * X25519 identity with its binding signature (KEYS-001, KEYS-003), and an
 * installation's prekeys and replay guard (PREKEY-*, X3DH-040).
 */
import { concat, equal, u8 } from "./bytes.js";
import type { IdentityFields } from "./codec.js";
import { InvalidArgument, InvalidIdentityBinding, InvalidSignature, MalformedMessage } from "./errors.js";
import {
  ed25519IsPoint,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  x25519PublicKey,
  type RandomSource,
} from "./primitives.js";
import {
  IDENTITY_BINDING_LABEL,
  IDENTITY_LEN,
  INSTALLATION_ID_LEN,
  KEY_LEN,
  PROFILE_ID,
  SIGNED_PREKEY_GRACE,
  SIGNED_PREKEY_ROTATION,
} from "./profile.js";
import { DEFAULT_POLICY, type VersionPolicy } from "./versioning.js";

export function bindingBytes(profile: number, dhKey: Uint8Array): Uint8Array {
  return concat(IDENTITY_BINDING_LABEL, u8(profile), dhKey);
}

/** An account's public identity: signing key, DH key and binding signature, verified. */
export class PublicIdentity implements IdentityFields {
  readonly signingKey: Uint8Array;
  readonly dhKey: Uint8Array;
  readonly bindingSignature: Uint8Array;
  private constructor(f: IdentityFields) {
    this.signingKey = f.signingKey;
    this.dhKey = f.dhKey;
    this.bindingSignature = f.bindingSignature;
  }

  /** Verify the binding (KEYS-003): INVALID_IDENTITY_BINDING when it does not hold. */
  static verify(f: IdentityFields, profile: number = PROFILE_ID): PublicIdentity {
    if (!ed25519IsPoint(f.signingKey)) throw new InvalidIdentityBinding("signing key is not a valid point");
    try {
      ed25519Verify(f.signingKey, bindingBytes(profile, f.dhKey), f.bindingSignature);
    } catch (e) {
      if (e instanceof InvalidSignature) throw new InvalidIdentityBinding("binding signature does not verify");
      throw e;
    }
    return new PublicIdentity(f);
  }

  /** From the 128 bytes signing_key || dh_key || binding_signature, verified. */
  static fromBytes(b: Uint8Array, profile: number = PROFILE_ID): PublicIdentity {
    if (b.length !== IDENTITY_LEN) throw new MalformedMessage(`an identity is 128 bytes, got ${b.length}`);
    return PublicIdentity.verify(
      { signingKey: b.slice(0, 32), dhKey: b.slice(32, 64), bindingSignature: b.slice(64, 128) },
      profile,
    );
  }

  /** signing_key || dh_key || binding_signature, 128 bytes. */
  toBytes(): Uint8Array {
    return concat(this.signingKey, this.dhKey, this.bindingSignature);
  }

  /** IK in byte strings: signing_key || dh_key, 64 bytes. */
  ik(): Uint8Array {
    return concat(this.signingKey, this.dhKey);
  }

  equals(o: IdentityFields): boolean {
    return equal(this.signingKey, o.signingKey) && equal(this.dhKey, o.dhKey) && equal(this.bindingSignature, o.bindingSignature);
  }
}

/** The identity key pair every installation of an account holds (KEYS-001, KEYS-002). */
export class IdentityKeyPair {
  readonly profile: number;
  readonly signingPrivateKey: Uint8Array;
  readonly dhPrivateKey: Uint8Array;
  readonly publicIdentity: PublicIdentity;

  private constructor(profile: number, signing: Uint8Array, dh: Uint8Array, pub: PublicIdentity) {
    this.profile = profile;
    this.signingPrivateKey = signing;
    this.dhPrivateKey = dh;
    this.publicIdentity = pub;
  }

  /** CONF-003: 32 bytes for the Ed25519 seed, then 32 for the X25519 private key. */
  static generate(rng: RandomSource, profile: number = PROFILE_ID): IdentityKeyPair {
    const signing = rng.randomBytes(32);
    const dh = rng.randomBytes(32);
    return IdentityKeyPair.fromPrivateKeys(signing, dh, profile);
  }

  static fromPrivateKeys(signingPrivateKey: Uint8Array, dhPrivateKey: Uint8Array, profile: number = PROFILE_ID): IdentityKeyPair {
    if (signingPrivateKey.length !== KEY_LEN || dhPrivateKey.length !== KEY_LEN) {
      throw new InvalidArgument("identity private keys are 32 bytes each");
    }
    if (profile !== PROFILE_ID) throw new InvalidArgument(`profile ${profile} is not implemented`);
    const signingKey = ed25519PublicKey(signingPrivateKey);
    const dhKey = x25519PublicKey(dhPrivateKey);
    const bindingSignature = ed25519Sign(signingPrivateKey, bindingBytes(profile, dhKey));
    const pub = PublicIdentity.verify({ signingKey, dhKey, bindingSignature }, profile);
    return new IdentityKeyPair(profile, signingPrivateKey.slice(), dhPrivateKey.slice(), pub);
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519Sign(this.signingPrivateKey, message);
  }

  toString(): string {
    return `IdentityKeyPair(profile=${this.profile})`;
  }
}

export interface SignedPreKeyPair {
  readonly id: number;
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly createdAt: bigint;
  /** 0n while current. */
  supersededAt: bigint;
}

export interface OneTimePreKeyPair {
  readonly id: number;
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface SeenInitialMessage {
  readonly signedPreKeyId: number;
  readonly ephemeralKey: Uint8Array;
}

export function signedPreKey(id: number, privateKey: Uint8Array, createdAt: bigint, supersededAt = 0n): SignedPreKeyPair {
  if (privateKey.length !== KEY_LEN) throw new InvalidArgument("a prekey private key is 32 bytes");
  return { id, privateKey: privateKey.slice(), publicKey: x25519PublicKey(privateKey), createdAt, supersededAt };
}

export function oneTimePreKey(id: number, privateKey: Uint8Array): OneTimePreKeyPair {
  if (privateKey.length !== KEY_LEN) throw new InvalidArgument("a prekey private key is 32 bytes");
  return { id, privateKey: privateKey.slice(), publicKey: x25519PublicKey(privateKey) };
}

/**
 * One installation of an account: its id, its prekeys (the current signed
 * prekey first), its prekey counter and its replay guard.
 */
export class Installation {
  readonly identity: IdentityKeyPair;
  readonly installationId: Uint8Array;
  signedPreKeys: SignedPreKeyPair[];
  oneTimePreKeys: OneTimePreKeyPair[];
  nextPreKeyId: number;
  seenInitialMessages: SeenInitialMessage[];
  readonly policy: VersionPolicy;

  constructor(args: {
    identity: IdentityKeyPair;
    installationId: Uint8Array;
    signedPreKeys: SignedPreKeyPair[];
    oneTimePreKeys?: OneTimePreKeyPair[];
    nextPreKeyId?: number;
    seenInitialMessages?: SeenInitialMessage[];
    policy?: VersionPolicy;
  }) {
    if (args.installationId.length !== INSTALLATION_ID_LEN) throw new InvalidArgument("an installation id is 16 bytes");
    if (args.signedPreKeys.length === 0) throw new InvalidArgument("an installation has a signed prekey");
    this.identity = args.identity;
    this.installationId = args.installationId.slice();
    this.signedPreKeys = [...args.signedPreKeys];
    this.oneTimePreKeys = [...(args.oneTimePreKeys ?? [])];
    const ids = [...this.signedPreKeys.map((k) => k.id), ...this.oneTimePreKeys.map((k) => k.id)];
    if (new Set(this.oneTimePreKeys.map((k) => k.id)).size !== this.oneTimePreKeys.length) {
      throw new InvalidArgument("one-time prekey ids must be unique (PREKEY-003)");
    }
    this.nextPreKeyId = args.nextPreKeyId ?? Math.max(0, ...ids) + 1;
    this.seenInitialMessages = [...(args.seenInitialMessages ?? [])];
    this.policy = args.policy ?? DEFAULT_POLICY;
  }

  /**
   * A new installation (CONF-003): 16 bytes for its id, 32 for its first
   * signed prekey, then 32 per one-time prekey. Prekey ids count from 1.
   */
  static create(identity: IdentityKeyPair, rng: RandomSource, now: bigint, oneTimePreKeys = 0, policy?: VersionPolicy): Installation {
    const installationId = rng.randomBytes(INSTALLATION_ID_LEN);
    const spk = signedPreKey(1, rng.randomBytes(32), now);
    const opks: OneTimePreKeyPair[] = [];
    for (let i = 0; i < oneTimePreKeys; i++) opks.push(oneTimePreKey(2 + i, rng.randomBytes(32)));
    const init: ConstructorParameters<typeof Installation>[0] = {
      identity,
      installationId,
      signedPreKeys: [spk],
      oneTimePreKeys: opks,
      nextPreKeyId: 2 + oneTimePreKeys,
    };
    if (policy !== undefined) init.policy = policy;
    return new Installation(init);
  }

  get currentSignedPreKey(): SignedPreKeyPair {
    return this.signedPreKeys[0]!;
  }

  /** PREKEY-001 and PREKEY-004: rotate a 7-day-old signed prekey; delete those past their grace. */
  maintain(now: bigint, rng: RandomSource): void {
    const current = this.currentSignedPreKey;
    if (now - current.createdAt >= SIGNED_PREKEY_ROTATION) {
      const fresh = signedPreKey(this.nextPreKeyId++, rng.randomBytes(32), now);
      current.supersededAt = now;
      this.signedPreKeys.unshift(fresh);
    }
    const expired = new Set(
      this.signedPreKeys.filter((k) => k.supersededAt !== 0n && now - k.supersededAt >= SIGNED_PREKEY_GRACE).map((k) => k.id),
    );
    if (expired.size > 0) {
      this.signedPreKeys = this.signedPreKeys.filter((k) => !expired.has(k.id));
      this.seenInitialMessages = this.seenInitialMessages.filter((s) => !expired.has(s.signedPreKeyId));
    }
  }

  /** Add one-time prekeys, 32 random bytes each, ids from the counter (PREKEY-002). */
  addOneTimePreKeys(count: number, rng: RandomSource): void {
    for (let i = 0; i < count; i++) this.oneTimePreKeys.push(oneTimePreKey(this.nextPreKeyId++, rng.randomBytes(32)));
  }

  findSignedPreKey(id: number): SignedPreKeyPair | undefined {
    return this.signedPreKeys.find((k) => k.id === id);
  }

  findOneTimePreKey(id: number): OneTimePreKeyPair | undefined {
    return this.oneTimePreKeys.find((k) => k.id === id);
  }

  hasSeen(signedPreKeyId: number, ephemeralKey: Uint8Array): boolean {
    return this.seenInitialMessages.some((s) => s.signedPreKeyId === signedPreKeyId && equal(s.ephemeralKey, ephemeralKey));
  }

  toString(): string {
    return `Installation(${this.signedPreKeys.length} signed prekeys, ${this.oneTimePreKeys.length} one-time prekeys)`;
  }
}

