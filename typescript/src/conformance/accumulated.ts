/**
 * The accumulated walk of spec/conformance.md ("Accumulated vectors",
 * CONF-020), written from that text: a seeded random conversation between
 * Alice and Bob through the driver operations (driver/core.ts), every output
 * absorbed into one SHA-256 digest and every outcome counted.
 * No Node API: the browser test page runs it too.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { sha256 } from "@noble/hashes/sha2.js";
import * as d from "../gen/parley/driver/v1/driver_pb.js";
import { RatchetMessageSchema } from "../gen/parley/v1/wire_pb.js";
import { DriverCore } from "../driver/core.js";
import { fromHex, toHex } from "../bytes.js";
import { ParleyError } from "../errors.js";
import { DeterministicRandom } from "../primitives.js";

/** The one time of the walk: 2026-01-01T00:00:00Z. */
export const NOW = 1767225600n;

export interface WalkResult {
  /** The final digest, lowercase hex. */
  sha256: string;
  /** encrypted, decrypted, lost, and one entry per refusal code; absent when zero. */
  counts: Record<string, number>;
}

/** One record of the digest, as the walk absorbed it (for reporting a first difference). */
export interface WalkRecord {
  tag: string;
  data: Uint8Array;
}

function req<S extends DescMessage>(schema: S, init: MessageInitShape<S>): MessageShape<S> {
  return create(schema, init);
}

/** The forged copy: decode, invert the top bit of mac[0], encode again canonically (WIRE-004). */
export function forgedCopy(message: Uint8Array): Uint8Array {
  const m = fromBinary(RatchetMessageSchema, message);
  const mac = m.mac.slice();
  if (mac.length > 0) mac[0] = mac[0]! ^ 0x80;
  m.mac = mac;
  return toBinary(RatchetMessageSchema, m, { writeUnknownFields: false });
}

type Party = "a" | "b";

/**
 * Play the walk of `seedHex` for `steps` steps against a driver core (a fresh
 * one by default; the same core plays both sides). `onRecord` sees each record.
 */
export function runAccumulated(seedHex: string, steps: number, onRecord?: (r: WalkRecord) => void, core = new DriverCore()): WalkResult {
  const rng = new DeterministicRandom(fromHex(seedHex));
  const key = () => rng.randomBytes(32);
  const u32 = () => {
    const b = rng.randomBytes(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  };
  const bytes = (n: number) => (n === 0 ? new Uint8Array(0) : rng.randomBytes(n));

  const digest = sha256.create();
  const counts: Record<string, number> = {};
  const count = (k: string) => void (counts[k] = (counts[k] ?? 0) + 1);
  const absorb = (tag: string, data: Uint8Array) => {
    const n = data.length;
    digest.update(new Uint8Array([tag.charCodeAt(0), (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]));
    digest.update(data);
    onRecord?.({ tag, data });
  };

  // Setup 1: Alice, then Bob.
  const inst: Record<Party, { handle: bigint; id: Uint8Array }> = {} as never;
  for (const p of ["a", "b"] as Party[]) {
    const signing = key();
    const dh = key();
    const id = bytes(16);
    const spk = key();
    const opk = key();
    const out = core.createInstallation(
      req(d.CreateInstallationRequestSchema, {
        profile: 1,
        identity: { signingPrivateKey: signing, dhPrivateKey: dh },
        installationId: id,
        signedPrekeys: [{ id: 1, privateKey: spk, createdAt: NOW, supersededAt: 0n }],
        oneTimePrekeys: [{ id: 2, privateKey: opk }],
      }),
    );
    absorb("I", out.identity as Uint8Array);
    inst[p] = { handle: out.installationHandle as bigint, id };
  }
  // Setup 2: Bob's bundle.
  const bundle = core.createBundle(req(d.CreateBundleRequestSchema, { installationHandles: [inst.b.handle], now: NOW })).bundle as Uint8Array;
  absorb("B", bundle);
  // Setup 3: Alice's session.
  const ekA = key();
  const ratchet = key();
  const sessions: Partial<Record<Party, bigint>> = {};
  sessions.a = core.initiate(
    req(d.InitiateRequestSchema, {
      installationHandle: inst.a.handle,
      bundle,
      remoteInstallationId: inst.b.id,
      now: NOW,
      oneTimePrekeyId: 2,
      ephemeralPrivateKey: ekA,
      ratchetPrivateKey: ratchet,
    }),
  ).sessionHandle as bigint;

  const inFlight: { to: Party; message: Uint8Array }[] = [];

  const deliver = (to: Party, message: Uint8Array) => {
    const ratchetKey = key();
    let plaintext: Uint8Array;
    try {
      const s = sessions[to];
      if (to === "b" && s === undefined) {
        const out = core.respond(
          req(d.RespondRequestSchema, { installationHandle: inst.b.handle, message, remoteInstallationId: inst.a.id, ratchetPrivateKey: ratchetKey }),
        );
        sessions.b = out.sessionHandle as bigint;
        plaintext = out.plaintext as Uint8Array;
      } else {
        plaintext = core.decrypt(req(d.DecryptRequestSchema, { sessionHandle: s!, message, ratchetPrivateKey: ratchetKey })).plaintext as Uint8Array;
      }
    } catch (e) {
      // A refusal with a registry code (spec/errors.md, local codes included) is an outcome; anything else fails the case.
      if (!(e instanceof ParleyError)) throw e;
      absorb("X", new TextEncoder().encode(e.code));
      count(e.code);
      return;
    }
    absorb("P", plaintext);
    count("decrypted");
  };

  for (let step = 0; step < steps; step++) {
    const r = u32() % 100;
    if (r < 40 || inFlight.length === 0) {
      const sender: Party = sessions.b === undefined ? "a" : u32() % 2 === 0 ? "a" : "b";
      const n = u32() % 48;
      const plaintext = bytes(n);
      const message = core.encrypt(req(d.EncryptRequestSchema, { sessionHandle: sessions[sender]!, plaintext })).message as Uint8Array;
      absorb("E", message);
      count("encrypted");
      inFlight.push({ to: sender === "a" ? "b" : "a", message });
      continue;
    }
    const i = u32() % inFlight.length;
    const entry = inFlight[i]!;
    if (r < 85) {
      inFlight.splice(i, 1);
      deliver(entry.to, entry.message);
    } else if (r < 92) {
      deliver(entry.to, entry.message);
    } else if (r < 96) {
      deliver(entry.to, forgedCopy(entry.message));
    } else {
      inFlight.splice(i, 1);
      count("lost");
    }
  }
  return { sha256: toHex(digest.digest()), counts };
}
