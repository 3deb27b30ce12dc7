/**
 * The TypeScript benchmarks: the workloads of bench/run.py, each beside its
 * floor, the same primitive calls (primitives.ts over noble) written as a
 * minimal straight-line sequence in the same runtime: no validation, no
 * rollback copy, no protobuf encoding. Both are timed in alternating rounds
 * and the best round of each is kept. Usage: node dist/bench/run.js [--quick]
 */
import { createBundle, verifyBundle } from "../bundle.js";
import { concat, u32 } from "../bytes.js";
import { IdentityKeyPair, Installation, bindingBytes } from "../keys.js";
import { kdfCk, kdfRk, messageKeys, x3dhKdf } from "../kdf.js";
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  constantTimeEqual,
  ed25519Verify,
  hmacSha256,
  systemRandom as RNG,
  x25519Dh,
  x25519PublicKey,
} from "../primitives.js";
import { Session } from "../session.js";
import { signedBundleBytes } from "../bundle.js";

const NOW = 1_700_000_000n;
const PLAINTEXT = RNG.randomBytes(1024);
const HEADER = RNG.randomBytes(40);
const EMPTY = new Uint8Array(0);

// -- the floor ---------------------------------------------------------------------

function fEncrypt(mk: Uint8Array, pt: Uint8Array, ad: Uint8Array): [Uint8Array, Uint8Array] {
  const k = messageKeys(mk);
  const ct = aesCbcEncrypt(k.encKey, k.iv, pt);
  const tag = hmacSha256(k.macKey, concat(ad, u32(HEADER.length), HEADER, u32(0), EMPTY, ct));
  return [ct, tag];
}

function fDecrypt(mk: Uint8Array, ct: Uint8Array, tag: Uint8Array, ad: Uint8Array): Uint8Array {
  const k = messageKeys(mk);
  if (!constantTimeEqual(hmacSha256(k.macKey, concat(ad, u32(HEADER.length), HEADER, u32(0), EMPTY, ct)), tag)) throw new Error("MAC");
  return aesCbcDecrypt(k.encKey, k.iv, ct);
}

interface FParty {
  priv: Uint8Array;
  pub: Uint8Array;
  rk: Uint8Array;
  cks: Uint8Array;
  ckr: Uint8Array;
}

function fParty(): FParty {
  const priv = RNG.randomBytes(32);
  return { priv, pub: x25519PublicKey(priv), rk: EMPTY, cks: EMPTY, ckr: EMPTY };
}

class FloorPair {
  ad = RNG.randomBytes(160);
  sender: FParty;
  receiver: FParty;
  ckA: Uint8Array;
  ckB: Uint8Array;
  constructor() {
    const a = fParty();
    const b = fParty();
    const root = RNG.randomBytes(32);
    [a.rk, a.cks] = kdfRk(root, x25519Dh(a.priv, b.pub));
    b.rk = root;
    this.sender = a;
    this.receiver = b;
    this.ckA = this.ckB = RNG.randomBytes(32);
  }
  inOrder(): void {
    let mk: Uint8Array;
    [this.ckA, mk] = kdfCk(this.ckA);
    const [ct, tag] = fEncrypt(mk, PLAINTEXT, this.ad);
    [this.ckB, mk] = kdfCk(this.ckB);
    fDecrypt(mk, ct, tag, this.ad);
  }
  ping(): void {
    const s = this.sender;
    const r = this.receiver;
    let mk: Uint8Array;
    [s.cks, mk] = kdfCk(s.cks);
    const [ct, tag] = fEncrypt(mk, PLAINTEXT, this.ad);
    const [rk, ckr] = kdfRk(r.rk, x25519Dh(r.priv, s.pub));
    [r.ckr, mk] = kdfCk(ckr);
    fDecrypt(mk, ct, tag, this.ad);
    r.priv = RNG.randomBytes(32);
    r.pub = x25519PublicKey(r.priv);
    [r.rk, r.cks] = kdfRk(rk, x25519Dh(r.priv, s.pub));
    this.sender = r;
    this.receiver = s;
  }
}

/**
 * The floor of 100 messages delivered in reverse. The first delivered message
 * (the last sent) starts a new receiving chain, so the receiver takes one DH
 * ratchet step, as Parley does: DH, KDF_RK, a new key pair, DH, KDF_RK.
 */
function floorReverse(count: number, ratchet: { priv: Uint8Array; peerPub: Uint8Array; rk: Uint8Array }): void {
  const ad = RNG.randomBytes(160);
  const ck = RNG.randomBytes(32);
  const sent: [Uint8Array, Uint8Array][] = [];
  let cks = ck;
  let mk: Uint8Array;
  for (let i = 0; i < count; i++) {
    [cks, mk] = kdfCk(cks);
    sent.push(fEncrypt(mk, PLAINTEXT, ad));
  }
  const [rk] = kdfRk(ratchet.rk, x25519Dh(ratchet.priv, ratchet.peerPub));
  const keys = new Map<number, Uint8Array>();
  let ckr = ck;
  for (let n = 0; n < count; n++) {
    [ckr, mk] = kdfCk(ckr);
    keys.set(n, mk);
  }
  const nd = RNG.randomBytes(32);
  x25519PublicKey(nd);
  kdfRk(rk, x25519Dh(nd, ratchet.peerPub));
  for (let n = count - 1; n >= 0; n--) {
    const [ct, tag] = sent[n]!;
    fDecrypt(keys.get(n)!, ct, tag, ad);
    keys.delete(n);
  }
}

// -- Parley ----------------------------------------------------------------------

class Parties {
  alice = Installation.create(IdentityKeyPair.generate(RNG), RNG, NOW);
  bob = Installation.create(IdentityKeyPair.generate(RNG), RNG, NOW);
  bundle = createBundle([this.bob], NOW);

  handshake(): [Session, Session] {
    const verified = verifyBundle(this.bundle, NOW);
    const a = Session.initiate(this.alice, verified, this.bob.installationId, RNG);
    const first = a.encrypt(new TextEncoder().encode("hello"));
    this.bob.seenInitialMessages.length = 0; // keep the replay guard small
    const { session: b } = Session.respond(this.bob, first, this.alice.installationId, RNG);
    return [a, b];
  }

  established(): [Session, Session] {
    const [a, b] = this.handshake();
    a.decrypt(b.encrypt(new TextEncoder().encode("reply")), RNG);
    return [a, b];
  }

  /** The floor of a handshake, over the same keys. */
  floorHandshake(): void {
    const ad = RNG.randomBytes(160);
    const bobPub = this.bob.identity.publicIdentity;
    const alicePub = this.alice.identity.publicIdentity;
    const spk = this.bob.currentSignedPreKey;
    const entries = [{ installationId: this.bob.installationId, signedPreKeyId: spk.id, signedPreKey: spk.publicKey, protocolVersions: [1], oneTimePreKeys: [] }];
    const bundleMsg = signedBundleBytes(1, bobPub.signingKey, bobPub.dhKey, NOW, entries);
    const bundleSig = this.bob.identity.sign(bundleMsg);
    // Initiator: verify Bob's identity binding and bundle signature.
    ed25519Verify(bobPub.signingKey, bindingBytes(1, bobPub.dhKey), bobPub.bindingSignature);
    ed25519Verify(bobPub.signingKey, bundleMsg, bundleSig);
    const ek = RNG.randomBytes(32);
    const ekPub = x25519PublicKey(ek);
    let sk = x3dhKdf(concat(x25519Dh(this.alice.identity.dhPrivateKey, spk.publicKey), x25519Dh(ek, bobPub.dhKey), x25519Dh(ek, spk.publicKey)));
    const dhs = RNG.randomBytes(32);
    const dhsPub = x25519PublicKey(dhs);
    let [, ck] = kdfRk(sk, x25519Dh(dhs, spk.publicKey));
    let mk: Uint8Array;
    [ck, mk] = kdfCk(ck);
    const [ct, tag] = fEncrypt(mk, new TextEncoder().encode("hello"), ad);
    // Responder: verify Alice's identity binding, X3DH, decrypt (DH ratchet step).
    ed25519Verify(alicePub.signingKey, bindingBytes(1, alicePub.dhKey), alicePub.bindingSignature);
    sk = x3dhKdf(concat(x25519Dh(spk.privateKey, alicePub.dhKey), x25519Dh(this.bob.identity.dhPrivateKey, ekPub), x25519Dh(spk.privateKey, ekPub)));
    const [rk, ckr0] = kdfRk(sk, x25519Dh(spk.privateKey, dhsPub));
    const [, mk2] = kdfCk(ckr0);
    fDecrypt(mk2, ct, tag, ad);
    const nd = RNG.randomBytes(32);
    x25519PublicKey(nd);
    kdfRk(rk, x25519Dh(nd, dhsPub));
  }
}

// -- timing ------------------------------------------------------------------------

function timeOf(fn: () => unknown, iterations: number): number {
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - t0) / 1000 / iterations;
}

function compare(parley: () => unknown, floor: () => unknown, iterations: number, rounds: number): [number, number] {
  let p = Infinity;
  let f = Infinity;
  timeOf(parley, Math.max(1, iterations >> 3));
  timeOf(floor, Math.max(1, iterations >> 3));
  for (let r = 0; r < rounds; r++) {
    p = Math.min(p, timeOf(parley, iterations));
    f = Math.min(f, timeOf(floor, iterations));
  }
  return [p, f];
}

export interface BenchRow {
  workload: string;
  parleyUs: number;
  floorUs: number;
  ratio: number;
  goal: number;
}

export function runBench(quick = false): BenchRow[] {
  const rounds = quick ? 3 : 7;
  const n = (x: number) => (quick ? Math.max(1, Math.floor(x / 10)) : x);
  const rows: BenchRow[] = [];
  const report = (workload: string, p: number, f: number) => {
    const row = { workload, parleyUs: p * 1e6, floorUs: f * 1e6, ratio: p / f, goal: 1.5 };
    rows.push(row);
    console.log(
      `${workload.padEnd(36)} ${row.parleyUs.toFixed(1).padStart(9)} µs  floor ${row.floorUs.toFixed(1).padStart(9)} µs  ${row.ratio.toFixed(2)}x  (goal <= ${row.goal})`,
    );
  };
  const parties = new Parties();
  let [p, f] = compare(() => parties.handshake(), () => parties.floorHandshake(), n(60), rounds);
  report("X3DH handshake + first message", p, f);

  let [a, b] = parties.established();
  const fp = new FloorPair();
  [p, f] = compare(() => b.decrypt(a.encrypt(PLAINTEXT), RNG), () => fp.inOrder(), n(3000), rounds);
  report("in-order 1 KiB (enc + dec)", p, f);

  [a, b] = parties.established();
  const turn: [Session, Session] = [a, b];
  const fp2 = new FloorPair();
  [p, f] = compare(
    () => {
      turn[1].decrypt(turn[0].encrypt(PLAINTEXT), RNG);
      turn.reverse();
    },
    () => fp2.ping(),
    n(400),
    rounds,
  );
  report("ping-pong 1 KiB (DH step each)", p, f);

  const rPriv = RNG.randomBytes(32);
  const ratchet = { priv: rPriv, peerPub: x25519PublicKey(RNG.randomBytes(32)), rk: RNG.randomBytes(32) };
  // Sessions are established outside the timed region, a fresh pair per run.
  const reverseRuns = n(20);
  const timeReverse = (): number => {
    const pairs = Array.from({ length: reverseRuns }, () => parties.established());
    const t0 = performance.now();
    for (const [x, y] of pairs) {
      const sent = Array.from({ length: 100 }, () => x.encrypt(PLAINTEXT));
      for (let i = sent.length - 1; i >= 0; i--) y.decrypt(sent[i]!, RNG);
    }
    return (performance.now() - t0) / 1000 / reverseRuns;
  };
  p = Infinity;
  f = Infinity;
  for (let r = 0; r < rounds; r++) {
    p = Math.min(p, timeReverse());
    f = Math.min(f, timeOf(() => floorReverse(100, ratchet), reverseRuns));
  }
  report("100 in reverse (per message)", p / 100, f / 100);
  return rows;
}

if (typeof process !== "undefined" && process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  console.log(`parley-typescript bench (node ${process.version}): best of alternating rounds, ratio = Parley / floor`);
  runBench(process.argv.includes("--quick"));
}
