/** The browser test page: the whole vector suite in the page, and a two-party demo. */
import {
  IdentityKeyPair,
  Installation,
  Session,
  createBundle,
  decodeRatchetMessage,
  systemRandom,
  toHex,
  verifyBundle,
  DEFAULT_POLICY,
} from "../src/index.js";
import { runVectors, summary, type CaseResult } from "../src/vectors.js";
import kdf from "../../test-vectors/kdf.json" with { type: "json" };
import x3dh from "../../test-vectors/x3dh.json" with { type: "json" };
import bundle from "../../test-vectors/bundle.json" with { type: "json" };
import wire from "../../test-vectors/wire.json" with { type: "json" };
import versioning from "../../test-vectors/versioning.json" with { type: "json" };
import session from "../../test-vectors/session.json" with { type: "json" };
import no_bundle from "../../test-vectors/no_bundle.json" with { type: "json" };
import fanout from "../../test-vectors/fanout.json" with { type: "json" };
import compromise from "../../test-vectors/compromise.json" with { type: "json" };
import accumulated from "../../test-vectors/accumulated.json" with { type: "json" };
import contact from "../../test-vectors/contact.json" with { type: "json" };
import payload from "../../test-vectors/payload.json" with { type: "json" };
import multi_device from "../../test-vectors/multi_device.json" with { type: "json" };

declare global {
  interface Window {
    parley: {
      done: boolean;
      summary: string;
      results: CaseResult[];
      /** Milliseconds each case took, by tcId. */
      ms: Record<string, number>;
      demo: (from: "alice" | "bob", text: string) => string;
    };
  }
}

const $ = (id: string) => document.getElementById(id)!;

function setupDemo(): (from: "alice" | "bob", text: string) => string {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const alice = Installation.create(IdentityKeyPair.generate(systemRandom), systemRandom, now);
  const bob = Installation.create(IdentityKeyPair.generate(systemRandom), systemRandom, now);
  const bobBundle = verifyBundle(createBundle([bob], now), now);
  const sessions: { alice: Session; bob: Session | undefined } = {
    alice: Session.initiate(alice, bobBundle, bob.installationId, systemRandom),
    bob: undefined,
  };
  const log = (who: string, line: string) => {
    const el = $(`${who}-log`);
    const div = document.createElement("div");
    div.textContent = line;
    el.appendChild(div);
    el.scrollTop = el.scrollHeight;
  };
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const send = (from: "alice" | "bob", text: string): string => {
    const to = from === "alice" ? "bob" : "alice";
    const s = sessions[from];
    if (s === undefined) {
      log(from, "(Bob can answer once Alice's first message arrived)");
      return "";
    }
    const wireBytes = s.encrypt(enc.encode(text));
    const h = decodeRatchetMessage(wireBytes, DEFAULT_POLICY);
    log(from, `> ${text}   [${wireBytes.length} bytes, N=${h.messageNumber}, key ${toHex(h.ratchetKey).slice(0, 8)}${h.x3dh ? ", X3DH header" : ""}]`);
    let plaintext: Uint8Array;
    if (to === "bob" && sessions.bob === undefined) {
      const r = Session.respond(bob, wireBytes, alice.installationId, systemRandom);
      sessions.bob = r.session;
      plaintext = r.plaintext;
    } else {
      plaintext = sessions[to]!.decrypt(wireBytes, systemRandom);
    }
    const got = dec.decode(plaintext);
    log(to, `< ${got}`);
    return got;
  };
  for (const who of ["alice", "bob"] as const) {
    $(`${who}-send`).addEventListener("click", () => {
      const input = $(`${who}-text`) as HTMLInputElement;
      if (input.value !== "") send(who, input.value);
      input.value = "";
    });
  }
  return send;
}

const demo = setupDemo();
window.parley = { done: false, summary: "", results: [], ms: {}, demo };

setTimeout(() => {
  const body = $("cases");
  let last = performance.now();
  const results = runVectors({ kdf, x3dh, bundle, wire, versioning, session, no_bundle, fanout, compromise, contact, payload, multi_device, accumulated }, (r) => {
    const now = performance.now();
    window.parley.ms[r.tcId] = Math.round(now - last);
    last = now;
    const tr = document.createElement("tr");
    for (const [text, cls] of [[r.tcId, ""], [r.outcome, r.outcome], [r.detail, ""]] as const) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  });
  const line = summary(results);
  $("summary").textContent = `vectors: ${line}`;
  window.parley.results = results;
  window.parley.summary = line;
  window.parley.done = true;
}, 0);
