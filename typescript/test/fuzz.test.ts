/**
 * Garbage in, typed errors out: every decoder and receiving operation, fed
 * random bytes and single-byte mutations of valid inputs, either succeeds or
 * raises a ParleyError (never a TypeError, RangeError or a library's own error),
 * and a refusal changes no state. PARLEY_FUZZ_EXAMPLES sets the budget.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createBundle, verifyBundle } from "../src/bundle.js";
import { toHex } from "../src/bytes.js";
import { decodeNoBundleMessage, decodeRatchetMessage } from "../src/codec.js";
import { decodeEnvelope, encodeEnvelope } from "../src/envelope.js";
import { ParleyError } from "../src/errors.js";
import { openNoBundle, sealNoBundle } from "../src/nobundle.js";
import { systemRandom } from "../src/primitives.js";
import { Session } from "../src/session.js";
import { loadIdentity, loadInstallation, loadSession, saveIdentity, saveInstallation, saveSession } from "../src/state.js";
import { DEFAULT_POLICY } from "../src/versioning.js";
import { NOW, pair } from "./helpers.js";

const RUNS = Number(process.env.PARLEY_FUZZ_EXAMPLES ?? 200);
const text = (s: string) => new TextEncoder().encode(s);

function typedOnly(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ParleyError)) throw e;
  }
}

const world = (() => {
  const p = pair("fuzz", true);
  const first = p.ab.encrypt(text("first"));
  const { session: ba } = Session.respond(p.bob, first, p.alice.installationId, systemRandom);
  const second = p.ab.encrypt(text("second"));
  const reply = ba.encrypt(text("reply"));
  const bundle = createBundle([p.bob], NOW);
  const nb = sealNoBundle({ sender: p.alice.identity, senderInstallationId: p.alice.installationId, recipient: p.bob.identity.publicIdentity, plaintext: text("nb"), version: 1, rng: systemRandom });
  const envelope = encodeEnvelope({ version: 1, senderInstallationId: p.alice.installationId, copies: [{ recipientInstallationId: p.bob.installationId, kind: "ratchet", body: second }, { recipientInstallationId: new Uint8Array(0), kind: "no_bundle", body: nb }], senderBundle: bundle });
  return { ...p, ba, first, second, reply, bundle, nb, envelope };
})();

const valid = [world.first, world.second, world.reply, world.bundle, world.nb, world.envelope, saveSession(world.ba), saveInstallation(world.bob), saveIdentity(world.bob.identity)];

const inputs = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([v, i, m]) => {
    const b = v.slice();
    b[i % b.length]! ^= m;
    return b;
  }),
  fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([v, n]) => v.slice(0, n % (v.length + 1))),
);

describe("garbage in, typed errors out", () => {
  it("decoders", () => {
    fc.assert(
      fc.property(inputs, (b) => {
        typedOnly(() => decodeRatchetMessage(b, DEFAULT_POLICY));
        typedOnly(() => decodeNoBundleMessage(b, DEFAULT_POLICY));
        typedOnly(() => decodeEnvelope(b));
        typedOnly(() => verifyBundle(b, NOW));
        typedOnly(() => loadSession(b));
        typedOnly(() => loadIdentity(b));
        typedOnly(() => loadInstallation(b, world.bob.identity));
      }),
      { numRuns: RUNS },
    );
  });

  it("receiving operations leave every state unchanged when they refuse", () => {
    fc.assert(
      fc.property(inputs, (b) => {
        const before = [saveSession(world.ab), saveSession(world.ba), saveInstallation(world.bob)].map(toHex).join();
        const ab = loadSession(saveSession(world.ab));
        const ba = loadSession(saveSession(world.ba));
        let changed = false;
        for (const op of [
          () => ab.decrypt(b, systemRandom),
          () => ba.decrypt(b, systemRandom),
          () => Session.respond(world.bob, b, world.alice.installationId, systemRandom),
          () => openNoBundle({ recipient: world.bob.identity, message: b, senderInstallationId: world.alice.installationId, policy: DEFAULT_POLICY }),
        ]) {
          try {
            op();
            changed = true; // an accepted input (a valid copy): state may move
          } catch (e) {
            if (!(e instanceof ParleyError)) throw e;
          }
        }
        if (!changed) {
          expect(toHex(saveSession(ab)) + "," + toHex(saveSession(ba)) + "," + toHex(saveInstallation(world.bob))).toBe(before);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
