/**
 * States saved by the Python reference (tests/fixtures/*_v1.bin, format
 * parley.local.v1) load here and go on with the recorded conversation byte
 * for byte: a session saved by one implementation loads in the other (STORE-010, STORE-011).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ascii, concat, equal, fromHex, toHex } from "../src/bytes.js";
import { decodeRatchetMessage } from "../src/codec.js";
import { DuplicateMessage, InvalidMac, ReplayedInitialMessage, StateFormatError } from "../src/errors.js";
import { DeterministicRandom } from "../src/primitives.js";
import { Session } from "../src/session.js";
import { loadIdentity, loadInstallation, loadSession, saveIdentity, saveInstallation, saveSession } from "../src/state.js";
import { DEFAULT_POLICY } from "../src/versioning.js";
import { REPO, readJson } from "./paths.js";

const EXPECTED = readJson("tests", "fixtures", "session_state_v1.json");
const fixture = (name: string) => new Uint8Array(readFileSync(join(REPO, "tests", "fixtures", name)));
const text = (s: string) => new TextEncoder().encode(s);

function loadAll() {
  const identity = loadIdentity(fixture("identity_state_v1.bin"));
  return {
    alice: loadSession(fixture("session_state_v1.bin")),
    bob: loadSession(fixture("peer_session_state_v1.bin")),
    carol: loadSession(fixture("pending_session_state_v1.bin")),
    identity,
    installation: loadInstallation(fixture("installation_state_v1.bin"), identity),
  };
}

function useSkippedKeysAndRetiredChains(s: ReturnType<typeof loadAll>): void {
  const rng = new DeterministicRandom(ascii("unused: no DH step here"));
  for (const name of ["alice", "bob"] as const) {
    const session = s[name];
    const expected = EXPECTED[name];
    const f = session.fields();
    const window = [f.receivingRatchetKey!, ...f.retired.map((c) => c.ratchetKey)];
    for (const item of expected.late_messages) expect(toHex(session.decrypt(fromHex(item.message), rng))).toBe(toHex(text(item.plaintext)));
    expect(session.fields().skipped.size).toBe(0);
    const outcomes = new Set<unknown>();
    for (const item of expected.late_messages) {
      const key = decodeRatchetMessage(fromHex(item.message), DEFAULT_POLICY).ratchetKey;
      const error = window.some((k) => equal(k, key)) ? DuplicateMessage : InvalidMac;
      outcomes.add(error);
      expect(() => session.decrypt(fromHex(item.message), rng)).toThrow(error);
    }
    expect(outcomes).toEqual(new Set([DuplicateMessage, InvalidMac]));
    for (const m of expected.duplicates) expect(() => session.decrypt(fromHex(m), rng)).toThrow(DuplicateMessage);
    for (const m of expected.beyond_window) expect(() => session.decrypt(fromHex(m), rng)).toThrow(InvalidMac);
  }
}

describe("state saved by the reference", () => {
  it("loads with its contents", () => {
    const s = loadAll();
    const ids = { alice: EXPECTED.alice_installation_id, bob: EXPECTED.bob_installation_id, carol: EXPECTED.carol_installation_id };
    const fa = s.alice.fields();
    const fb = s.bob.fields();
    const fc = s.carol.fields();
    expect([fa.initiator, fb.initiator, fc.initiator]).toEqual([true, false, true]);
    expect([toHex(fa.localInstallationId), toHex(fa.remoteInstallationId)]).toEqual([ids.alice, ids.bob]);
    expect([toHex(fb.localInstallationId), toHex(fb.remoteInstallationId)]).toEqual([ids.bob, ids.alice]);
    expect([toHex(fc.localInstallationId), toHex(fc.remoteInstallationId)]).toEqual([ids.carol, ids.bob]);
    expect(toHex(s.alice.sessionId)).toBe(toHex(s.bob.sessionId));
    expect(toHex(s.carol.sessionId)).not.toBe(toHex(s.alice.sessionId));
    expect(s.alice.remoteIdentity.equals(s.identity.publicIdentity)).toBe(true);
    expect(toHex(s.alice.associatedData)).toBe(toHex(s.bob.associatedData));
    expect(fc.pendingX3dh).toEqual({ signedPreKeyId: 1, oneTimePreKeyId: 3 });
    expect(fa.skipped.size).toBe(EXPECTED.alice.skipped_keys);
    expect(fb.skipped.size).toBe(EXPECTED.bob.skipped_keys);
    expect(fa.retired.length).toBe(2);
    expect(s.installation.signedPreKeys.map((k) => k.id)).toEqual(EXPECTED.installation.signed_prekey_ids);
    expect(s.installation.signedPreKeys[1]!.supersededAt > 0n).toBe(true);
    expect(s.installation.oneTimePreKeys.map((k) => k.id).sort()).toEqual(EXPECTED.installation.one_time_prekey_ids);
    expect(s.installation.hasSeen(1, s.alice.sessionId)).toBe(true);
  });

  it("saves the same bytes it loaded", () => {
    for (const [name, save] of [
      ["session_state_v1.bin", (b: Uint8Array) => saveSession(loadSession(b))],
      ["peer_session_state_v1.bin", (b: Uint8Array) => saveSession(loadSession(b))],
      ["pending_session_state_v1.bin", (b: Uint8Array) => saveSession(loadSession(b))],
      ["identity_state_v1.bin", (b: Uint8Array) => saveIdentity(loadIdentity(b))],
    ] as const) {
      expect(toHex(save(fixture(name))), name).toBe(toHex(fixture(name)));
    }
    const s = loadAll();
    expect(toHex(saveInstallation(s.installation))).toBe(toHex(fixture("installation_state_v1.bin")));
  });

  it("keeps using saved skipped keys and retired chains", () => {
    useSkippedKeysAndRetiredChains(loadAll());
  });

  it("guards replays with the saved installation", () => {
    const s = loadAll();
    const before = toHex(saveInstallation(s.installation));
    expect(() =>
      Session.respond(s.installation, fromHex(EXPECTED.installation.replayed_initial_message), fromHex(EXPECTED.alice_installation_id), new DeterministicRandom(ascii("unused"))),
    ).toThrow(ReplayedInitialMessage);
    expect(toHex(saveInstallation(s.installation))).toBe(before);
  });

  it("continues the recorded conversation exactly", () => {
    const s = loadAll();
    const first = EXPECTED.carol_initial;
    const { session: bobCarol, plaintext } = Session.respond(
      s.installation,
      fromHex(first.message),
      fromHex(EXPECTED.carol_installation_id),
      new DeterministicRandom(concat(ascii(EXPECTED.continuation_seed), ascii(": respond"))),
    );
    expect(toHex(plaintext)).toBe(toHex(text(first.plaintext)));
    expect(s.installation.oneTimePreKeys.some((k) => k.id === 3)).toBe(false);
    useSkippedKeysAndRetiredChains(s);
    const rng = new DeterministicRandom(ascii(EXPECTED.continuation_seed));
    const senders: Record<string, [Session, Session]> = {
      alice: [s.alice, s.bob],
      bob: [s.bob, s.alice],
      carol: [s.carol, bobCarol],
      "bob-to-carol": [bobCarol, s.carol],
    };
    expect(EXPECTED.next_exchange.length).toBe(8);
    for (const step of EXPECTED.next_exchange) {
      const [sender, receiver] = senders[step.from]!;
      const message = sender.encrypt(text(step.plaintext));
      expect(toHex(message)).toBe(step.message);
      expect(toHex(receiver.decrypt(message, rng))).toBe(toHex(text(step.plaintext)));
    }
    expect(s.carol.pending).toBe(false);
  });

  it("refuses corrupt records with STATE_FORMAT and loads nothing", () => {
    const good = fixture("session_state_v1.bin");
    expect(() => loadSession(good.subarray(0, good.length - 3))).toThrow(StateFormatError);
    const newer = good.slice();
    newer[1] = 2; // format_version = 2 (field 1 varint)
    expect(() => loadSession(newer)).toThrow(StateFormatError);
    expect(() => loadIdentity(fixture("identity_state_v1.bin").subarray(0, 20))).toThrow(StateFormatError);
  });
});
