/** Unit tests for what the vectors cannot reach, and for the spec fixes this implementation forced. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ascii, toHex } from "../src/bytes.js";
import { decodeRatchetMessage } from "../src/codec.js";
import * as E from "../src/errors.js";
import { RatchetHeaderSchema, RatchetMessageSchema } from "../src/gen/parley/v1/wire_pb.js";
import { SessionStateSchema } from "../src/gen/parley/local/v1/state_pb.js";
import { IdentityKeyPair, Installation } from "../src/keys.js";
import { openNoBundle, sealNoBundle } from "../src/nobundle.js";
import { DeterministicRandom, systemRandom } from "../src/primitives.js";
import { MAX_CIPHERTEXT, SIGNED_PREKEY_GRACE, SIGNED_PREKEY_ROTATION } from "../src/profile.js";
import { Session } from "../src/session.js";
import { loadSession, saveInstallation, saveSession } from "../src/state.js";
import { DEFAULT_POLICY, makePolicy } from "../src/versioning.js";
import { decodeContactCode, encodeContactCode } from "../src/contact.js";
import { Installation as Inst } from "../src/keys.js";
import { createBundle, verifyBundle } from "../src/bundle.js";
import { NOW, pair } from "./helpers.js";
import { REPO } from "./paths.js";

const text = (s: string) => new TextEncoder().encode(s);

describe("the error registry", () => {
  it("has exactly the codes of spec/errors.md, each with its kind", () => {
    const md = readFileSync(join(REPO, "spec", "errors.md"), "utf8");
    const table = (text: string) =>
      [...text.matchAll(/^\| `([A-Z_]+)` \| `(\w+)`[^|]*\| (local|remote) \|/gm)].map((m) => [m[1]!, m[3]!] as const);
    const [protocol, library] = md.split("### Library codes");
    // Every code of the protocol, and the one library code the vectors expect
    // (contact codes are in this package); the other library codes belong to
    // an application's store (contacts, names) and this package has none.
    const core = [...table(protocol!), ...table(library!).filter(([c]) => c === "INVALID_CONTACT_CODE")];
    const rows = [...table(protocol!), ...table(library!)];
    expect(core.length).toBeGreaterThan(15);
    for (const [code, kind] of core) {
      const cls = E.ERROR_CLASSES[code as E.ErrorCode];
      expect(cls, code).toBeDefined();
      const err = new cls("x");
      expect(err.code).toBe(code);
      expect(err).toBeInstanceOf(kind === "local" ? E.LocalError : E.RemoteError);
    }
    expect(new E.InvalidIdentityBinding()).toBeInstanceOf(E.InvalidSignature);
    expect(new E.BundleSignatureInvalid()).toBeInstanceOf(E.InvalidSignature);
    const registry = new Set(rows.map(([c]) => c));
    for (const code of Object.keys(E.ERROR_CLASSES)) {
      if (!["PARLEY_ERROR", "LOCAL_ERROR", "REMOTE_ERROR"].includes(code)) expect(registry.has(code), code).toBe(true);
    }
  });

  it("shows no secret in a message, an error or a description (ERR-003)", () => {
    const { alice, ab } = pair("secrets");
    const secrets = [alice.identity.signingPrivateKey, alice.identity.dhPrivateKey, ab.fields().rootKey, ab.fields().sendingChainKey!].map(toHex);
    const shown: string[] = [String(alice), String(alice.identity), String(ab)];
    try {
      ab.decrypt(ab.encrypt(text("x")), systemRandom);
    } catch (e) {
      shown.push(String(e), JSON.stringify(e));
    }
    for (const s of shown) for (const secret of secrets) expect(s).not.toContain(secret.slice(0, 16));
  });
});

describe("transactional receipt", () => {
  it("leaves the installation unchanged when an initial message fails (X3DH-042)", () => {
    const { bob, ab } = pair("tx/respond", true);
    const m = ab.encrypt(text("hi"));
    const bad = m.slice();
    bad[bad.length - 40]! ^= 1;
    const before = toHex(saveInstallation(bob));
    expect(() => Session.respond(bob, bad, ab.fields().localInstallationId, systemRandom)).toThrow(E.RemoteError);
    expect(toHex(saveInstallation(bob))).toBe(before);
    const { plaintext } = Session.respond(bob, m, ab.fields().localInstallationId, systemRandom);
    expect(new TextDecoder().decode(plaintext)).toBe("hi");
    expect(bob.oneTimePreKeys.length).toBe(0); // PREKEY-005
    expect(() => Session.respond(bob, m, ab.fields().localInstallationId, systemRandom)).toThrow(E.ReplayedInitialMessage);
  });

  it("draws the new ratchet key only after the message decrypted (CONF-003)", () => {
    const { bob, ab } = pair("tx/draw");
    const m = ab.encrypt(text("hi"));
    let draws = 0;
    const counting = { randomBytes: (n: number) => (draws++, systemRandom.randomBytes(n)) };
    const bad = m.slice();
    bad[bad.length - 1]! ^= 1;
    expect(() => Session.respond(bob, bad, ab.fields().localInstallationId, counting)).toThrow();
    expect(draws).toBe(0);
    Session.respond(bob, m, ab.fields().localInstallationId, counting);
    expect(draws).toBe(1);
  });
});

describe("versions in a session (VERSION-011, STORE-010: fixes of this implementation)", () => {
  function v12Pair() {
    const rng = new DeterministicRandom(ascii("versions"));
    const policy = makePolicy([1, 2], 1);
    const alice = Installation.create(IdentityKeyPair.generate(rng), rng, NOW, 0, policy);
    const bob = Installation.create(IdentityKeyPair.generate(rng), rng, NOW, 0, policy);
    const ab = Session.initiate(alice, verifyBundle(createBundle([bob], NOW), NOW), bob.installationId, rng);
    const { session: ba } = Session.respond(bob, ab.encrypt(text("1")), alice.installationId, rng);
    return { rng, ab, ba };
  }

  it("refuses an authentic message of another version than the session's, unchanged", () => {
    const { rng, ab, ba } = v12Pair();
    expect(ab.version).toBe(1);
    const st = fromBinary(SessionStateSchema, saveSession(ab));
    st.version = 2;
    const forgedSender = loadSession(toBinary(SessionStateSchema, st), [1, 2]);
    const m = forgedSender.encrypt(text("v2"));
    const before = toHex(saveSession(ba));
    expect(() => ba.decrypt(m, rng)).toThrow(E.MalformedMessage);
    expect(toHex(saveSession(ba))).toBe(before);
    expect(new TextDecoder().decode(ba.decrypt(ab.encrypt(text("v1")), rng))).toBe("v1");
  });

  it("reads a version altered in transit as INVALID_MAC when it reads it", () => {
    const { rng, ab, ba } = v12Pair();
    const m = fromBinary(RatchetMessageSchema, ab.encrypt(text("x")));
    const h = fromBinary(RatchetHeaderSchema, m.header);
    h.version = 2;
    m.header = toBinary(RatchetHeaderSchema, h);
    expect(() => ba.decrypt(toBinary(RatchetMessageSchema, m), rng)).toThrow(E.InvalidMac);
  });

  it("loads a version-2 session that still reads its own version, with no policy given", () => {
    const rng = new DeterministicRandom(ascii("versions/2"));
    const policy = makePolicy([1, 2], 2);
    const alice = Installation.create(IdentityKeyPair.generate(rng), rng, NOW, 0, policy);
    const bob = Installation.create(IdentityKeyPair.generate(rng), rng, NOW, 0, policy);
    const ab = Session.initiate(alice, verifyBundle(createBundle([bob], NOW), NOW), bob.installationId, rng);
    const { session: ba } = Session.respond(bob, ab.encrypt(text("1")), alice.installationId, rng);
    expect(ba.version).toBe(2);
    const loaded = loadSession(saveSession(ba));
    expect(new TextDecoder().decode(loaded.decrypt(ab.encrypt(text("2")), rng))).toBe("2");
  });

  it("refuses contradictory session records with STATE_FORMAT", () => {
    const { ab, ba } = v12Pair();
    expect(ab.pending).toBe(true);
    const mutate = (s: Session, f: (m: ReturnType<typeof fromBinary<typeof SessionStateSchema>>) => void) => {
      const m = fromBinary(SessionStateSchema, saveSession(s));
      f(m);
      return toBinary(SessionStateSchema, m);
    };
    for (const bytes of [
      mutate(ba, (m) => (m.version = 0)),
      mutate(ba, (m) => (m.profile = 2)),
      mutate(ba, (m) => (m.receivingChainKey = new Uint8Array(0))),
      mutate(ba, (m) => (m.pendingX3dh = fromBinary(SessionStateSchema, saveSession(ab)).pendingX3dh)),
      mutate(ba, (m) => (m.rootKey = new Uint8Array(31))),
      mutate(ba, (m) => (m.remoteIdentity = m.remoteIdentity.slice(0, 127))),
    ]) {
      expect(() => loadSession(bytes)).toThrow(E.StateFormatError);
    }
  });
});

describe("limits and prekeys", () => {
  it("refuses a ciphertext above 1 MiB + 16 as MESSAGE_TOO_LARGE before its multiple-of-16 check (WIRE-005)", () => {
    const header = toBinary(RatchetHeaderSchema, create(RatchetHeaderSchema, { version: 1, ratchetKey: new Uint8Array(32).fill(9) }));
    for (const len of [MAX_CIPHERTEXT + 16, MAX_CIPHERTEXT + 1]) {
      const m = toBinary(RatchetMessageSchema, create(RatchetMessageSchema, { header, ciphertext: new Uint8Array(len), mac: new Uint8Array(31) }));
      expect(() => decodeRatchetMessage(m, DEFAULT_POLICY)).toThrow(E.MessageTooLarge);
    }
  });

  it("refuses to encrypt more than 1 MiB (SESSION-004) and encrypts exactly 1 MiB", () => {
    const { ab } = pair("limits/plaintext");
    expect(() => ab.encrypt(new Uint8Array(1048577))).toThrow(E.InvalidArgument);
    expect(ab.encrypt(new Uint8Array(1048576)).length).toBeLessThan(1048576 + 4096);
  });

  it("rotates a 7-day-old signed prekey and deletes it with its replay guard after the grace", () => {
    const { bob, ab } = pair("prekeys/rotation");
    Session.respond(bob, ab.encrypt(text("hi")), ab.fields().localInstallationId, systemRandom);
    expect(bob.seenInitialMessages.length).toBe(1);
    bob.maintain(NOW + SIGNED_PREKEY_ROTATION - 1n, systemRandom);
    expect(bob.signedPreKeys.length).toBe(1);
    bob.maintain(NOW + SIGNED_PREKEY_ROTATION, systemRandom);
    expect(bob.signedPreKeys.map((k) => k.id)).toEqual([2, 1]);
    const superseded = NOW + SIGNED_PREKEY_ROTATION;
    bob.maintain(superseded + SIGNED_PREKEY_GRACE - 1n, systemRandom);
    expect(bob.signedPreKeys.length).toBe(3); // rotated again, the first one still within its grace
    bob.maintain(superseded + SIGNED_PREKEY_GRACE, systemRandom);
    expect(bob.signedPreKeys.some((k) => k.id === 1)).toBe(false);
    expect(bob.seenInitialMessages.length).toBe(0);
  });

  it("keeps the no-bundle replay cache (NOBUNDLE-020) and marks no forward secrecy", () => {
    const rng = new DeterministicRandom(ascii("no-bundle"));
    const alice = IdentityKeyPair.generate(rng);
    const bob = IdentityKeyPair.generate(rng);
    const seen = new Set<string>();
    const cache = { has: (k: Uint8Array) => seen.has(toHex(k)), add: (k: Uint8Array) => void seen.add(toHex(k)) };
    const inst = rng.randomBytes(16);
    const m = sealNoBundle({ sender: alice, senderInstallationId: inst, recipient: bob.publicIdentity, plaintext: text("hi"), version: 1, rng });
    const opened = openNoBundle({ recipient: bob, message: m, senderInstallationId: inst, policy: DEFAULT_POLICY, replayCache: cache });
    expect(opened.forwardSecret).toBe(false);
    expect(new TextDecoder().decode(opened.plaintext)).toBe("hi");
    expect(() => openNoBundle({ recipient: bob, message: m, senderInstallationId: inst, policy: DEFAULT_POLICY, replayCache: cache })).toThrow(E.ReplayedInitialMessage);
    expect(() => openNoBundle({ recipient: alice, message: m, senderInstallationId: inst, policy: DEFAULT_POLICY })).toThrow(E.MalformedMessage);
  });
});

describe("contact codes", () => {
  it("ignore the unused bits of the last base32 character (CONTACT-003, as clarified)", () => {
    const rng = new DeterministicRandom(ascii("contact/unused-bits"));
    const id = IdentityKeyPair.generate(rng);
    const one = Inst.create(id, rng, NOW);
    const two = Inst.create(id, rng, NOW);
    const bundle = createBundle([one, two], NOW);
    const { text, qrText } = encodeContactCode(bundle);
    const chars = text.length - "parley1:".length;
    expect((chars * 5) % 8).toBeGreaterThan(0);
    const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    const flipped = text.slice(0, -1) + alphabet[alphabet.indexOf(text[text.length - 1]!) ^ 1];
    expect(toHex(decodeContactCode(flipped))).toBe(toHex(bundle));
    expect(toHex(decodeContactCode(qrText))).toBe(toHex(bundle));
    expect(() => decodeContactCode(text.slice(0, -2) + "0" + text.slice(-1))).toThrow(E.InvalidContactCode);
  });
});
