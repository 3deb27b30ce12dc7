// Black-box probe: known fields with a wrong wire type, in the Python driver and in the TypeScript core (WIRE-003).
// Usage (from typescript/, after make ts-build): node scripts/probe-wire-types.mjs
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as d from "../dist/gen/parley/driver/v1/driver_pb.js";
import { DriverCore } from "../dist/driver/core.js";
import { fromHex, toHex, concat } from "../dist/bytes.js";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
const py = spawn("../.venv/bin/python", ["-m", "parley.conformance.driver", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
const port = await new Promise((res) => { let s = ""; const f = (c) => { s += c; const m = /127\.0\.0\.1:(\d+)/.exec(s); if (m) res(Number(m[1])); }; py.stdout.on("data", f); py.stderr.on("data", f); });
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const call = (name, rq, rs, init) => new Promise((resolve) => client.makeUnaryRequest(`/parley.driver.v1.DriverService/${name}`, (m) => Buffer.from(toBinary(rq, m)), (b) => fromBinary(rs, new Uint8Array(b)), create(rq, init), (err, res) => resolve(err ? { error: err.details } : res)));
const ts = new DriverCore();
const wire = JSON.parse(readFileSync("../test-vectors/wire.json", "utf8"));
const plain = fromHex(wire.testGroups[0].tests.find((t) => t.tcId === "wire/ratchet/plain").message);
const cases = {
  "field 1 with wire type 3 (0x0b)": (() => { const b = plain.slice(); b[0] = 0x0b; return b; })(),
  "extra field 2 as a varint, then the message": concat(Uint8Array.of(0x10, 0x05), plain),
  "the message, then field 2 as a varint": concat(plain, Uint8Array.of(0x10, 0x05)),
  "the message, then field 3 (mac) as fixed32": concat(plain, Uint8Array.of(0x1d, 1, 2, 3, 4)),
  "field 1 as varint 5, then the message": concat(Uint8Array.of(0x08, 0x05), plain),
};
const bundleHex = JSON.parse(readFileSync("../test-vectors/bundle.json", "utf8")).testGroups[1].tests.find((t) => t.tcId === "bundle/verify/valid");
const B = fromHex(bundleHex.bundle);
// Bundle field 2 (identity) is 0x12 LEN; insert a varint field 1 (signing_key as varint) at the start of the identity.
const idx = B.indexOf(0x12);
const idLen = B[idx + 1] | ((B[idx + 2] & 0x7f) << 7);
const lenBytes = B[idx + 1] & 0x80 ? 2 : 1;
const inner = B.slice(idx + 1 + lenBytes, idx + 1 + lenBytes + (lenBytes === 2 ? ((B[idx + 1] & 0x7f) | (B[idx + 2] << 7)) : B[idx + 1]));
const newInner = concat(Uint8Array.of(0x08, 0x07), inner);
const lenVar = newInner.length < 128 ? Uint8Array.of(newInner.length) : Uint8Array.of((newInner.length & 0x7f) | 0x80, newInner.length >> 7);
const B2 = concat(B.slice(0, idx + 1), lenVar, newInner, B.slice(idx + 1 + lenBytes + inner.length));
for (const [label, b] of [["bundle (control)", B], ["bundle, identity with signing_key also as a varint", B2]]) {
  const y = await call("VerifyBundle", d.VerifyBundleRequestSchema, d.VerifyBundleResponseSchema, { bundle: b, now: BigInt(bundleHex.now), profile: 1 });
  let t; try { ts.verifyBundle(create(d.VerifyBundleRequestSchema, { bundle: b, now: BigInt(bundleHex.now), profile: 1 })); t = "ok"; } catch (e) { t = e.message; }
  console.log(label.padEnd(46), "| python:", y.error ?? "ok", "| ts:", t);
}
for (const [label, m] of Object.entries(cases)) {
  const y = await call("DecodeRatchetMessage", d.DecodeRatchetMessageRequestSchema, d.DecodeRatchetMessageResponseSchema, { message: m });
  let t; try { const r = ts.decodeRatchetMessage(create(d.DecodeRatchetMessageRequestSchema, { message: m })); t = "ok ct=" + toHex(r.ciphertext).slice(0, 8) + " mac=" + toHex(r.mac).slice(0, 8); } catch (e) { t = e.message; }
  console.log(label.padEnd(46), "| python:", y.error ?? ("ok ct=" + toHex(y.ciphertext).slice(0, 8) + " mac=" + toHex(y.mac).slice(0, 8)), "| ts:", t);
}

// Varints wider than the field: a uint32 message_number written as 2^32 + 5.
{
  const W = await import("../dist/gen/parley/v1/wire_pb.js");
  const m = fromBinary(W.RatchetMessageSchema, plain);
  const hdr = fromBinary(W.RatchetHeaderSchema, m.header);
  const base = toBinary(W.RatchetHeaderSchema, create(W.RatchetHeaderSchema, { version: hdr.version, ratchetKey: hdr.ratchetKey, previousChainLength: hdr.previousChainLength }));
  // field 4 varint 2^32 + 5 = 0x100000005: 85 80 80 80 10
  m.header = concat(base, Uint8Array.of(0x20, 0x85, 0x80, 0x80, 0x80, 0x10));
  const wide = toBinary(W.RatchetMessageSchema, m);
  const y = await call("DecodeRatchetMessage", d.DecodeRatchetMessageRequestSchema, d.DecodeRatchetMessageResponseSchema, { message: wide });
  let t; try { t = "N=" + ts.decodeRatchetMessage(create(d.DecodeRatchetMessageRequestSchema, { message: wide })).messageNumber; } catch (e) { t = e.message; }
  console.log("message_number written as 2^32 + 5".padEnd(46), "| python:", y.error ?? ("N=" + y.messageNumber), "| ts:", t);
}
// An envelope whose attached bundle carries an unknown field: what DecodeEnvelope hands back.
{
  const W = await import("../dist/gen/parley/v1/wire_pb.js");
  const env = fromHex(wire.testGroups.find((g) => g.type === "EnvelopeDecodeTest").tests.find((t) => t.tcId === "wire/envelope/decode-fanout").envelope);
  const e = fromBinary(W.EnvelopeSchema, env);
  const b = toBinary(W.BundleSchema, e.senderBundle);
  const withUnknown = concat(b, Uint8Array.of(0x78, 0x01)); // field 15 varint 1
  e.senderBundle = fromBinary(W.BundleSchema, withUnknown);
  const env2 = toBinary(W.EnvelopeSchema, e);
  const y = await call("DecodeEnvelope", d.DecodeEnvelopeRequestSchema, d.DecodeEnvelopeResponseSchema, { envelope: env2 });
  let t; try { t = ts.decodeEnvelope(create(d.DecodeEnvelopeRequestSchema, { envelope: env2 })).senderBundle; } catch (e2) { t = e2.message; }
  const show = (x) => (x instanceof Uint8Array ? (x.length === b.length ? "re-encoded without it" : x.length === withUnknown.length ? "re-encoded with it" : "length " + x.length) : x);
  console.log("attached bundle with an unknown field".padEnd(46), "| python:", y.error ?? show(y.senderBundle), "| ts:", show(t));
}
py.kill(); process.exit(0);
