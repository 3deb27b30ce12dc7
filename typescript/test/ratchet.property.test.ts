/**
 * A model-based property test of a conversation over a hostile network
 * (fast-check commands): the network delays, reorders, drops, duplicates and
 * corrupts messages while both sides save and reload their sessions.
 *
 * * an original message decrypts exactly once, to its plaintext;
 * * a second copy is DUPLICATE_MESSAGE when its chain is the receiver's
 *   current or a retired one, otherwise INVALID_MAC;
 * * a corrupted copy is a RemoteError;
 * * after every rejected message both sessions and Bob's installation are
 *   unchanged byte for byte (RATCHET-040, X3DH-042);
 * * at the end every message still in flight decrypts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { equal, toHex } from "../src/bytes.js";
import { decodeRatchetMessage } from "../src/codec.js";
import { DuplicateMessage, InvalidMac, ParleyError, RemoteError } from "../src/errors.js";
import type { Installation } from "../src/keys.js";
import type { DeterministicRandom } from "../src/primitives.js";
import { Session } from "../src/session.js";
import { loadSession, saveInstallation, saveSession } from "../src/state.js";
import { DEFAULT_POLICY } from "../src/versioning.js";
import { pair } from "./helpers.js";

interface Msg {
  from: "A" | "B";
  data: Uint8Array;
  plaintext: Uint8Array;
  delivered: boolean;
}

class World {
  rng: DeterministicRandom;
  bob: Installation;
  sessions: { A: Session; B: Session | undefined };
  inFlight: Msg[] = [];
  delivered: Msg[] = [];
  count = 0;
  constructor(seed: string, opk: boolean) {
    const p = pair(seed, opk);
    this.rng = p.rng;
    this.bob = p.bob;
    this.sessions = { A: p.ab, B: undefined };
  }
  snapshot(): string {
    return [saveSession(this.sessions.A), this.sessions.B ? saveSession(this.sessions.B) : new Uint8Array(0), saveInstallation(this.bob)]
      .map(toHex)
      .join("/");
  }
  receive(to: "A" | "B", data: Uint8Array): Uint8Array {
    if (to === "B" && this.sessions.B === undefined) {
      const r = Session.respond(this.bob, data, this.sessions.A.fields().localInstallationId, this.rng);
      this.sessions.B = r.session;
      return r.plaintext;
    }
    return this.sessions[to]!.decrypt(data, this.rng);
  }
}

type Cmd = fc.Command<World, World>;

class Send implements Cmd {
  constructor(readonly from: "A" | "B") {}
  check(w: World): boolean {
    return this.from === "A" || w.sessions.B !== undefined;
  }
  run(w: World): void {
    const plaintext = new TextEncoder().encode(`${this.from}${w.count++}`);
    const data = w.sessions[this.from]!.encrypt(plaintext);
    w.inFlight.push({ from: this.from, data, plaintext, delivered: false });
  }
  toString(): string {
    return `send(${this.from})`;
  }
}

function deliverOriginal(w: World, m: Msg): void {
  const to = m.from === "A" ? "B" : "A";
  const out = w.receive(to, m.data);
  expect(toHex(out)).toBe(toHex(m.plaintext));
  m.delivered = true;
  w.delivered.push(m);
}

class Deliver implements Cmd {
  constructor(readonly index: number) {}
  check(w: World): boolean {
    return w.inFlight.length > 0;
  }
  run(w: World): void {
    const m = w.inFlight.splice(this.index % w.inFlight.length, 1)[0]!;
    deliverOriginal(w, m);
  }
  toString(): string {
    return `deliver(${this.index})`;
  }
}

class Redeliver implements Cmd {
  constructor(readonly index: number) {}
  check(w: World): boolean {
    return w.delivered.length > 0;
  }
  run(w: World): void {
    const m = w.delivered[this.index % w.delivered.length]!;
    const to = m.from === "A" ? "B" : "A";
    const s = w.sessions[to]!;
    const f = s.fields();
    const rk = decodeRatchetMessage(m.data, DEFAULT_POLICY).ratchetKey;
    const known = (f.receivingRatchetKey !== undefined && equal(rk, f.receivingRatchetKey)) || f.retired.some((c) => equal(c.ratchetKey, rk));
    const before = w.snapshot();
    let err: unknown;
    try {
      s.decrypt(m.data, w.rng);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(known ? DuplicateMessage : InvalidMac);
    expect(w.snapshot()).toBe(before);
  }
  toString(): string {
    return `redeliver(${this.index})`;
  }
}

class Drop implements Cmd {
  constructor(readonly index: number) {}
  check(w: World): boolean {
    return w.inFlight.length > 1;
  }
  run(w: World): void {
    // Lost for good: kept aside, never delivered (it would still decrypt).
    w.inFlight.splice(this.index % w.inFlight.length, 1);
  }
  toString(): string {
    return `drop(${this.index})`;
  }
}

class Tamper implements Cmd {
  constructor(readonly index: number, readonly position: number, readonly mask: number) {}
  check(w: World): boolean {
    return w.inFlight.length > 0;
  }
  run(w: World): void {
    const m = w.inFlight[this.index % w.inFlight.length]!;
    const data = m.data.slice();
    data[this.position % data.length]! ^= this.mask;
    const to = m.from === "A" ? "B" : "A";
    const before = w.snapshot();
    let err: unknown;
    try {
      w.receive(to, data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RemoteError);
    expect(w.snapshot()).toBe(before);
  }
  toString(): string {
    return `tamper(${this.index},${this.position},${this.mask})`;
  }
}

class SaveLoad implements Cmd {
  constructor(readonly who: "A" | "B") {}
  check(w: World): boolean {
    return w.sessions[this.who] !== undefined;
  }
  run(w: World): void {
    const s = w.sessions[this.who]!;
    const bytes = saveSession(s);
    const loaded = loadSession(bytes, s.reads);
    expect(toHex(saveSession(loaded))).toBe(toHex(bytes));
    w.sessions[this.who] = loaded;
  }
  toString(): string {
    return `saveLoad(${this.who})`;
  }
}

const commands = [
  fc.constantFrom<"A" | "B">("A", "B").map((p) => new Send(p)),
  fc.constantFrom<"A" | "B">("A", "B").map((p) => new Send(p)),
  fc.nat(50).map((i) => new Deliver(i)),
  fc.nat(50).map((i) => new Deliver(i)),
  fc.nat(50).map((i) => new Redeliver(i)),
  fc.nat(50).map((i) => new Drop(i)),
  fc.tuple(fc.nat(50), fc.nat(400), fc.integer({ min: 1, max: 255 })).map(([i, p, m]) => new Tamper(i, p, m)),
  fc.constantFrom<"A" | "B">("A", "B").map((p) => new SaveLoad(p)),
];

describe("the Double Ratchet over a lossy, reordering, corrupting network", () => {
  it("matches the model", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 16 }), fc.boolean(), fc.commands(commands, { maxCommands: 60 }), (seed, opk, cmds) => {
        const w = new World(`prop/${seed}`, opk);
        new Send("A").run(w);
        fc.modelRun(() => ({ model: w, real: w }), cmds);
        for (const m of [...w.inFlight].reverse()) deliverOriginal(w, m);
      }),
      { numRuns: Number(process.env.PARLEY_FUZZ_EXAMPLES ?? 60) },
    );
  });

  it("rejects with typed errors only", () => {
    const w = new World("prop/typed", false);
    new Send("A").run(w);
    expect(() => w.receive("B", new Uint8Array([0xff, 0xff]))).toThrow(ParleyError);
  });
});
