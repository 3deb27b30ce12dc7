/**
 * Sessions: X3DH both sides (spec/x3dh.md) feeding the Double Ratchet
 * (spec/ratchet.md). Decryption is transactional (RATCHET-040): every new
 * value is computed aside and assigned only after the MAC verified and the
 * plaintext decrypted.
 */
import { concat, equal, toHex, u32 } from "./bytes.js";
import {
  decodeRatchetMessage,
  encodeRatchetHeader,
  encodeRatchetMessage,
  encodeX3dhHeader,
  type DecodedRatchetMessage,
} from "./codec.js";
import {
  DuplicateMessage,
  InvalidArgument,
  InvalidMac,
  MalformedMessage,
  ReplayedInitialMessage,
  SessionStateError,
  TooManySkippedMessages,
  UnknownPreKey,
} from "./errors.js";
import { kdfCk, kdfRk, messageKeys } from "./kdf.js";
import type { BundleEntry, VerifiedBundle } from "./bundle.js";
import { findEntry } from "./bundle.js";
import { type Installation, PublicIdentity } from "./keys.js";
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  constantTimeEqual,
  hmacSha256,
  x25519Dh,
  x25519PublicKey,
  type RandomSource,
} from "./primitives.js";
import { INSTALLATION_ID_LEN, MAC_LEN, MAX_PLAINTEXT, MAX_SKIP, MAX_SKIPPED_KEYS, PROFILE_ID, RETIRED_CHAINS } from "./profile.js";
import { negotiate } from "./versioning.js";
import { associatedData, x3dhInitiator, x3dhResponder } from "./x3dh.js";

export interface SkippedKey {
  readonly ratchetKey: Uint8Array;
  readonly messageNumber: number;
  readonly messageKey: Uint8Array;
}

export interface RetiredChain {
  readonly ratchetKey: Uint8Array;
  readonly length: number;
}

export interface PendingX3dh {
  readonly signedPreKeyId: number;
  readonly oneTimePreKeyId: number | undefined;
}

/** Everything a session holds: Signal's state variables plus Parley's RETIRED and the X3DH data. */
export interface SessionFields {
  profile: number;
  version: number;
  initiator: boolean;
  localIdentity: PublicIdentity;
  remoteIdentity: PublicIdentity;
  localInstallationId: Uint8Array;
  remoteInstallationId: Uint8Array;
  rootKey: Uint8Array;
  sendingRatchetPrivateKey: Uint8Array;
  sendingChainKey: Uint8Array | undefined;
  sendingMessageNumber: number;
  receivingRatchetKey: Uint8Array | undefined;
  receivingChainKey: Uint8Array | undefined;
  receivingMessageNumber: number;
  previousSendingChainLength: number;
  /** Oldest first; keyed by hex(ratchet key) + ":" + N in insertion order. */
  skipped: Map<string, SkippedKey>;
  /** Oldest first. */
  retired: RetiredChain[];
  pendingX3dh: PendingX3dh | undefined;
  ephemeralKey: Uint8Array;
}

function skippedId(ratchetKey: Uint8Array, n: number): string {
  return toHex(ratchetKey) + ":" + n;
}

function macInput(ad: Uint8Array, header: Uint8Array, x3dh: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return concat(ad, u32(header.length), header, u32(x3dh.length), x3dh, ciphertext);
}

/** Derive the keys of chain messages `from` .. `until - 1`; MAX_SKIP (RATCHET-034). */
function skipKeys(ck: Uint8Array, from: number, until: number, ratchetKey: Uint8Array, out: [string, SkippedKey][]): Uint8Array {
  if (until - from > MAX_SKIP) throw new TooManySkippedMessages(`would skip ${until - from} message keys (at most ${MAX_SKIP})`);
  if (until <= from) return ck;
  const prefix = toHex(ratchetKey) + ":";
  let chain = ck;
  for (let n = from; n < until; n++) {
    const [next, mk] = kdfCk(chain);
    out.push([prefix + n, { ratchetKey, messageNumber: n, messageKey: mk }]);
    chain = next;
  }
  return chain;
}

/**
 * Verify the MAC of a message under `mk`, then decrypt it (RATCHET-013,
 * RATCHET-020). An authentic message of another version than the session's
 * breaks VERSION-011: MALFORMED_MESSAGE, checked after the MAC so it is no oracle.
 */
function openWith(mk: Uint8Array, ad: Uint8Array, m: DecodedRatchetMessage, version: number): Uint8Array {
  const keys = messageKeys(mk);
  if (m.mac.length !== MAC_LEN) throw new InvalidMac("MAC must be 32 bytes");
  const tag = hmacSha256(keys.macKey, macInput(ad, m.headerBytes, m.x3dhBytes, m.ciphertext));
  if (!constantTimeEqual(tag, m.mac)) throw new InvalidMac("MAC does not verify");
  if (m.version !== version) throw new MalformedMessage(`message version ${m.version} in a session of version ${version}`);
  return aesCbcDecrypt(keys.encKey, keys.iv, m.ciphertext);
}

/** A Double Ratchet session with one installation of a peer. */
export class Session {
  #s: SessionFields;
  #ad: Uint8Array;
  #x3dhBytes: Uint8Array | undefined;
  #sendingPublic: Uint8Array;
  #reads: readonly number[];

  /** `reads`: the versions the local installation reads (its policy); by default the session's own. */
  constructor(fields: SessionFields, reads?: readonly number[]) {
    this.#s = fields;
    this.#reads = reads ?? [fields.version];
    const s = fields;
    this.#ad = s.initiator
      ? associatedData(s.localIdentity, s.localInstallationId, s.remoteIdentity, s.remoteInstallationId)
      : associatedData(s.remoteIdentity, s.remoteInstallationId, s.localIdentity, s.localInstallationId);
    this.#sendingPublic = x25519PublicKey(s.sendingRatchetPrivateKey);
    this.#x3dhBytes = undefined;
  }

  /** The versions the local installation reads. */
  get reads(): readonly number[] {
    return this.#reads;
  }

  /** A copy of the state (for saving, see state.ts). */
  fields(): SessionFields {
    const s = this.#s;
    return { ...s, skipped: new Map(s.skipped), retired: [...s.retired] };
  }

  /** The session id EK_A (SESSION-001). */
  get sessionId(): Uint8Array {
    return this.#s.ephemeralKey;
  }
  get initiator(): boolean {
    return this.#s.initiator;
  }
  get version(): number {
    return this.#s.version;
  }
  get remoteIdentity(): PublicIdentity {
    return this.#s.remoteIdentity;
  }
  get remoteInstallationId(): Uint8Array {
    return this.#s.remoteInstallationId;
  }
  /** True while the initiator has not yet decrypted a reply (X3DH-020). */
  get pending(): boolean {
    return this.#s.pendingX3dh !== undefined;
  }
  get associatedData(): Uint8Array {
    return this.#ad;
  }

  /**
   * Start a session as initiator against a verified bundle's entry
   * (X3DH-001, RATCHET-001). Draws 32 bytes for EK_A, then 32 for DHs.
   */
  static initiate(
    local: Installation,
    bundle: VerifiedBundle,
    remoteInstallationId: Uint8Array,
    rng: RandomSource,
    oneTimePreKeyId?: number,
  ): Session {
    if (remoteInstallationId.length !== INSTALLATION_ID_LEN) throw new InvalidArgument("an installation id is 16 bytes");
    const entry: BundleEntry = findEntry(bundle, remoteInstallationId);
    const version = negotiate(local.policy, entry.protocolVersions);
    let opk: Uint8Array | undefined;
    if (oneTimePreKeyId !== undefined) {
      const k = entry.oneTimePreKeys.find((x) => x.id === oneTimePreKeyId);
      if (k === undefined) throw new UnknownPreKey("the bundle entry does not offer that one-time prekey");
      opk = k.publicKey;
    }
    const ek = rng.randomBytes(32);
    const ekPublic = x25519PublicKey(ek);
    const { sharedKey } = x3dhInitiator({
      identityDhPrivate: local.identity.dhPrivateKey,
      ephemeralPrivate: ek,
      peerIdentityDh: bundle.identity.dhKey,
      peerSignedPreKey: entry.signedPreKey,
      peerOneTimePreKey: opk,
    });
    const dhs = rng.randomBytes(32);
    const [rk, cks] = kdfRk(sharedKey, x25519Dh(dhs, entry.signedPreKey));
    return new Session({
      profile: bundle.profile,
      version,
      initiator: true,
      localIdentity: local.identity.publicIdentity,
      remoteIdentity: bundle.identity,
      localInstallationId: local.installationId,
      remoteInstallationId: remoteInstallationId.slice(),
      rootKey: rk,
      sendingRatchetPrivateKey: dhs,
      sendingChainKey: cks,
      sendingMessageNumber: 0,
      receivingRatchetKey: undefined,
      receivingChainKey: undefined,
      receivingMessageNumber: 0,
      previousSendingChainLength: 0,
      skipped: new Map(),
      retired: [],
      pendingX3dh: { signedPreKeyId: entry.signedPreKeyId, oneTimePreKeyId },
      ephemeralKey: ekPublic,
    }, local.policy.reads);
  }

  /**
   * Accept an initial message as responder (spec/x3dh.md, "Receiving the
   * initial message"). On success the replay guard is recorded and the
   * one-time prekey deleted; on any error the installation is unchanged
   * (X3DH-042). Draws 32 bytes for the DH ratchet step, after the MAC verified.
   */
  static respond(
    local: Installation,
    message: Uint8Array,
    remoteInstallationId: Uint8Array,
    rng: RandomSource,
  ): { session: Session; plaintext: Uint8Array } {
    if (remoteInstallationId.length !== INSTALLATION_ID_LEN) throw new MalformedMessage("the sender installation id must be 16 bytes");
    const m = decodeRatchetMessage(message, local.policy);
    if (m.x3dh === undefined) throw new MalformedMessage("an initial message without an X3DH header");
    const x = m.x3dh;
    const initiator = PublicIdentity.verify(x.initiatorIdentity, PROFILE_ID);
    if (local.hasSeen(x.signedPreKeyId, x.ephemeralKey)) throw new ReplayedInitialMessage("initial message already accepted");
    const spk = local.findSignedPreKey(x.signedPreKeyId);
    if (spk === undefined) throw new UnknownPreKey("unknown signed prekey");
    let opkPrivate: Uint8Array | undefined;
    if (x.oneTimePreKeyId !== undefined) {
      const opk = local.findOneTimePreKey(x.oneTimePreKeyId);
      if (opk === undefined) throw new UnknownPreKey("unknown one-time prekey");
      opkPrivate = opk.privateKey;
    }
    const { sharedKey } = x3dhResponder({
      identityDhPrivate: local.identity.dhPrivateKey,
      signedPreKeyPrivate: spk.privateKey,
      oneTimePreKeyPrivate: opkPrivate,
      peerIdentityDh: initiator.dhKey,
      peerEphemeralKey: x.ephemeralKey,
    });
    const session = new Session({
      profile: PROFILE_ID,
      version: m.version,
      initiator: false,
      localIdentity: local.identity.publicIdentity,
      remoteIdentity: initiator,
      localInstallationId: local.installationId,
      remoteInstallationId: remoteInstallationId.slice(),
      rootKey: sharedKey,
      sendingRatchetPrivateKey: spk.privateKey,
      sendingChainKey: undefined,
      sendingMessageNumber: 0,
      receivingRatchetKey: undefined,
      receivingChainKey: undefined,
      receivingMessageNumber: 0,
      previousSendingChainLength: 0,
      skipped: new Map(),
      retired: [],
      pendingX3dh: undefined,
      ephemeralKey: x.ephemeralKey,
    }, local.policy.reads);
    const plaintext = session.decryptDecoded(m, rng);
    local.seenInitialMessages.push({ signedPreKeyId: x.signedPreKeyId, ephemeralKey: x.ephemeralKey.slice() });
    if (x.oneTimePreKeyId !== undefined) {
      const id = x.oneTimePreKeyId;
      local.oneTimePreKeys = local.oneTimePreKeys.filter((k) => k.id !== id);
    }
    return { session, plaintext };
  }

  /** RatchetEncrypt (spec/ratchet.md, "Encrypting"); the chain advances before the bytes are returned. */
  encrypt(plaintext: Uint8Array): Uint8Array {
    const s = this.#s;
    if (plaintext.length > MAX_PLAINTEXT) throw new InvalidArgument(`plaintext of ${plaintext.length} bytes exceeds 1 MiB`);
    if (s.sendingChainKey === undefined) throw new SessionStateError("the session has no sending chain yet");
    // RATCHET-023: N is 32 bits on the wire and at rest; N = 2^32 - 1 is never sent.
    if (s.sendingMessageNumber >= 0xffffffff) throw new SessionStateError("the sending chain is exhausted (N = 2^32 - 1); start a new session");
    const [nextCk, mk] = kdfCk(s.sendingChainKey);
    const header = encodeRatchetHeader(s.version, this.#sendingPublic, s.previousSendingChainLength, s.sendingMessageNumber);
    let x3dh: Uint8Array = new Uint8Array(0);
    if (s.pendingX3dh !== undefined) {
      if (this.#x3dhBytes === undefined) {
        this.#x3dhBytes = encodeX3dhHeader(
          s.localIdentity,
          s.ephemeralKey,
          s.pendingX3dh.signedPreKeyId,
          s.pendingX3dh.oneTimePreKeyId,
        );
      }
      x3dh = this.#x3dhBytes;
    }
    const keys = messageKeys(mk);
    const ciphertext = aesCbcEncrypt(keys.encKey, keys.iv, plaintext);
    const mac = hmacSha256(keys.macKey, macInput(this.#ad, header, x3dh, ciphertext));
    s.sendingChainKey = nextCk;
    s.sendingMessageNumber += 1;
    return encodeRatchetMessage(header, ciphertext, mac, x3dh);
  }

  /**
   * RatchetDecrypt (spec/ratchet.md, "Decrypting"). The header's version must
   * be one the local policy reads (VERSION-003) and, once the MAC verified, the
   * session's own (VERSION-011).
   */
  decrypt(message: Uint8Array, rng: RandomSource): Uint8Array {
    const m = decodeRatchetMessage(message, { reads: this.#reads, writes: this.#s.version });
    return this.decryptDecoded(m, rng);
  }

  private decryptDecoded(m: DecodedRatchetMessage, rng: RandomSource): Uint8Array {
    const s = this.#s;
    if (m.x3dh !== undefined) {
      if (s.initiator) throw new MalformedMessage("an X3DH header in a message to the initiator");
      if (!equal(m.x3dh.ephemeralKey, s.ephemeralKey)) throw new MalformedMessage("an X3DH header of another session");
    }
    const rk = m.ratchetKey;
    const n = m.messageNumber;

    // 1. A skipped key.
    const id = skippedId(rk, n);
    const held = s.skipped.get(id);
    if (held !== undefined) {
      const plaintext = openWith(held.messageKey, this.#ad, m, s.version);
      s.skipped.delete(id);
      this.#confirm();
      return plaintext;
    }

    // 2. The current receiving chain.
    if (s.receivingChainKey !== undefined && s.receivingRatchetKey !== undefined && equal(rk, s.receivingRatchetKey)) {
      if (n < s.receivingMessageNumber) throw new DuplicateMessage("no key is held for this message");
      const newSkipped: [string, SkippedKey][] = [];
      const ck = skipKeys(s.receivingChainKey, s.receivingMessageNumber, n, rk, newSkipped);
      const [nextCk, mk] = kdfCk(ck);
      const plaintext = openWith(mk, this.#ad, m, s.version);
      s.receivingChainKey = nextCk;
      s.receivingMessageNumber = n + 1;
      this.#store(newSkipped);
      this.#confirm();
      return plaintext;
    }

    // 3. A retired chain.
    if (s.retired.some((c) => equal(c.ratchetKey, rk))) throw new DuplicateMessage("message of a retired chain");

    // 4. A DH ratchet step.
    const newSkipped: [string, SkippedKey][] = [];
    if (s.receivingChainKey !== undefined && s.receivingRatchetKey !== undefined) {
      skipKeys(s.receivingChainKey, s.receivingMessageNumber, m.previousChainLength, s.receivingRatchetKey, newSkipped);
    }
    const [rk1, ckr0] = kdfRk(s.rootKey, x25519Dh(s.sendingRatchetPrivateKey, rk));
    const ckr = skipKeys(ckr0, 0, n, rk, newSkipped);
    const [nextCkr, mk] = kdfCk(ckr);
    const plaintext = openWith(mk, this.#ad, m, s.version);
    const dhs = rng.randomBytes(32);
    const [rk2, cks] = kdfRk(rk1, x25519Dh(dhs, rk));
    if (s.receivingRatchetKey !== undefined) {
      s.retired.push({ ratchetKey: s.receivingRatchetKey, length: m.previousChainLength });
      while (s.retired.length > RETIRED_CHAINS) s.retired.shift();
    }
    s.previousSendingChainLength = s.sendingChainKey === undefined ? 0 : s.sendingMessageNumber;
    s.sendingMessageNumber = 0;
    s.sendingRatchetPrivateKey = dhs;
    this.#sendingPublic = x25519PublicKey(dhs);
    s.receivingRatchetKey = rk.slice();
    s.receivingChainKey = nextCkr;
    s.receivingMessageNumber = n + 1;
    s.sendingChainKey = cks;
    s.rootKey = rk2;
    this.#store(newSkipped);
    this.#confirm();
    return plaintext;
  }

  /** Keep new skipped keys, oldest first; evict the oldest above 2000 (RATCHET-035). */
  #store(keys: [string, SkippedKey][]): void {
    const map = this.#s.skipped;
    for (const [id, k] of keys) map.set(id, k);
    if (map.size > MAX_SKIPPED_KEYS) {
      let excess = map.size - MAX_SKIPPED_KEYS;
      for (const key of map.keys()) {
        if (excess-- <= 0) break;
        map.delete(key);
      }
    }
  }

  /** The initiator stops sending the X3DH header once a reply decrypted (X3DH-020). */
  #confirm(): void {
    if (this.#s.initiator && this.#s.pendingX3dh !== undefined) {
      this.#s.pendingX3dh = undefined;
      this.#x3dhBytes = undefined;
    }
  }

  toString(): string {
    return `Session(${this.#s.initiator ? "initiator" : "responder"}, version ${this.#s.version})`;
  }
}
