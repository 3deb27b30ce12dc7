// Black-box probe of the Python driver over gRPC on inputs the spec left open
// (see the list of spec fixes in README.md): prints its answer beside the TypeScript core's.
// Usage (from typescript/, after make ts-build): node scripts/probe-python-driver.mjs
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as d from "../dist/gen/parley/driver/v1/driver_pb.js";
import { SessionStateSchema } from "../dist/gen/parley/local/v1/state_pb.js";
import { DriverCore } from "../dist/driver/core.js";
import { DeterministicRandom } from "../dist/primitives.js";
import { ascii, toHex } from "../dist/bytes.js";
import { spawn } from "node:child_process";

const py = spawn(process.env.PYTHON ?? "../.venv/bin/python", ["-m", "parley.conformance.driver", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
const port = await new Promise((resolve, reject) => {
  let seen = "";
  const look = (chunk) => {
    seen += chunk;
    const m = /127\.0\.0\.1:(\d+)/.exec(seen);
    if (m) resolve(Number(m[1]));
  };
  py.stdout.on("data", look);
  py.stderr.on("data", look);
  py.on("exit", () => reject(new Error("the Python driver exited: " + seen)));
});
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
function call(name, reqSchema, resSchema, init) {
  return new Promise((resolve) => {
    client.makeUnaryRequest(`/parley.driver.v1.DriverService/${name}`, (m) => Buffer.from(toBinary(reqSchema, m)), (b) => fromBinary(resSchema, new Uint8Array(b)), create(reqSchema, init), (err, res) => resolve(err ? { error: err.details } : res));
  });
}
const rng = new DeterministicRandom(ascii("probe"));
const k = () => rng.randomBytes(32);
function instReq(policy) { return { profile: 1, identity: { signingPrivateKey: k(), dhPrivateKey: k() }, installationId: rng.randomBytes(16), signedPrekeys: [{ id: 1, privateKey: k(), createdAt: 1767139200n }], policy }; }
const ts = new DriverCore();
const now = 1767225600n;
// TS plays Alice and Bob; sessions are moved to the Python driver by their saved state.
const pol = { reads: [1], writes: 1 };
const aReq = instReq(pol), bReq = instReq(pol);
const a = ts.createInstallation(create(d.CreateInstallationRequestSchema, aReq));
const b = ts.createInstallation(create(d.CreateInstallationRequestSchema, bReq));
const bundle = ts.createBundle(create(d.CreateBundleRequestSchema, { installationHandles: [b.installationHandle], now })).bundle;
const ab = ts.initiate(create(d.InitiateRequestSchema, { installationHandle: a.installationHandle, bundle, remoteInstallationId: bReq.installationId, now, ephemeralPrivateKey: k(), ratchetPrivateKey: k() })).sessionHandle;
const m1 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab, plaintext: ascii("one") })).message;
const ba = ts.respond(create(d.RespondRequestSchema, { installationHandle: b.installationHandle, message: m1, remoteInstallationId: aReq.installationId, ratchetPrivateKey: k() })).sessionHandle;
const bState = ts.exportSession(create(d.ExportSessionRequestSchema, { sessionHandle: ba })).state;
// Alice's session rewritten to version 2: an authentic message of another version than the session's.
const aState = fromBinary(SessionStateSchema, ts.exportSession(create(d.ExportSessionRequestSchema, { sessionHandle: ab })).state);
aState.version = 2;
const ab2 = ts.importSession(create(d.ImportSessionRequestSchema, { state: toBinary(SessionStateSchema, aState) })).sessionHandle;
const m2v2 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab2, plaintext: ascii("two") })).message;
const m2v1 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab, plaintext: ascii("two") })).message;
async function pyDecrypt(label, state, message) {
  const h = await call("ImportSession", d.ImportSessionRequestSchema, d.ImportSessionResponseSchema, { state });
  const r = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: h.sessionHandle, message, ratchetPrivateKey: k() });
  let tsr; try { const th = ts.importSession(create(d.ImportSessionRequestSchema, { state })).sessionHandle; tsr = ts.decrypt(create(d.DecryptRequestSchema, { sessionHandle: th, message, ratchetPrivateKey: k() })); tsr = "plaintext " + new TextDecoder().decode(tsr.plaintext); } catch (e) { tsr = e.message; }
  console.log(label.padEnd(60), "| python:", r.error ?? ("plaintext " + new TextDecoder().decode(r.plaintext)), "| ts:", tsr);
}
await pyDecrypt("authentic v2 message, imported v1 session", bState, m2v2);
await pyDecrypt("v1 message (control)", bState, m2v1);

// 2. Bob reads 1 and 2 and writes 1, in the Python driver; the session is version 1.
{
  const pol = { reads: [1, 2], writes: 1 };
  const aReq = instReq(pol), bReq = instReq(pol);
  const a = ts.createInstallation(create(d.CreateInstallationRequestSchema, aReq));
  const pb = await call("CreateInstallation", d.CreateInstallationRequestSchema, d.CreateInstallationResponseSchema, bReq);
  const bundle = (await call("CreateBundle", d.CreateBundleRequestSchema, d.CreateBundleResponseSchema, { installationHandles: [pb.installationHandle], now })).bundle;
  const ab = ts.initiate(create(d.InitiateRequestSchema, { installationHandle: a.installationHandle, bundle, remoteInstallationId: bReq.installationId, now, ephemeralPrivateKey: k(), ratchetPrivateKey: k() })).sessionHandle;
  const m1 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab, plaintext: ascii("one") })).message;
  const r = await call("Respond", d.RespondRequestSchema, d.RespondResponseSchema, { installationHandle: pb.installationHandle, message: m1, remoteInstallationId: aReq.installationId, ratchetPrivateKey: k() });
  const aState = fromBinary(SessionStateSchema, ts.exportSession(create(d.ExportSessionRequestSchema, { sessionHandle: ab })).state);
  console.log("session version", aState.version);
  aState.version = 2;
  const ab2 = ts.importSession(create(d.ImportSessionRequestSchema, { state: toBinary(SessionStateSchema, aState) })).sessionHandle;
  const m2v2 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab2, plaintext: ascii("two") })).message;
  const x = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: r.sessionHandle, message: m2v2, ratchetPrivateKey: k() });
  console.log("authentic v2 message in a v1 session, reader reads 1,2 | python:", x.error ?? ("plaintext " + new TextDecoder().decode(x.plaintext)));
  // the same in TS
  const tb = ts.createInstallation(create(d.CreateInstallationRequestSchema, bReq));
  const tr = ts.respond(create(d.RespondRequestSchema, { installationHandle: tb.installationHandle, message: m1, remoteInstallationId: aReq.installationId, ratchetPrivateKey: k() }));
  let tsr; try { tsr = new TextDecoder().decode(ts.decrypt(create(d.DecryptRequestSchema, { sessionHandle: tr.sessionHandle, message: m2v2, ratchetPrivateKey: k() })).plaintext); } catch (e) { tsr = e.message; }
  console.log("  ts:", tsr);
  // export the Python session of version 1 whose installation reads 1,2, import it back into Python: does the import read 2?
  const st = (await call("ExportSession", d.ExportSessionRequestSchema, d.ExportSessionResponseSchema, { sessionHandle: r.sessionHandle })).state;
  const h2 = await call("ImportSession", d.ImportSessionRequestSchema, d.ImportSessionResponseSchema, { state: st });
  const y = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: h2.sessionHandle, message: m2v2, ratchetPrivateKey: k() });
  console.log("same message, Python session exported and imported again | python:", y.error ?? "plaintext");
}

// 3. A version-2 session saved and loaded in the Python driver: does the loaded session read its own version?
{
  const pol = { reads: [1, 2], writes: 2 };
  const aReq = instReq(pol), bReq = instReq(pol);
  const a = ts.createInstallation(create(d.CreateInstallationRequestSchema, aReq));
  const pb = await call("CreateInstallation", d.CreateInstallationRequestSchema, d.CreateInstallationResponseSchema, bReq);
  const bundle = (await call("CreateBundle", d.CreateBundleRequestSchema, d.CreateBundleResponseSchema, { installationHandles: [pb.installationHandle], now })).bundle;
  const ab = ts.initiate(create(d.InitiateRequestSchema, { installationHandle: a.installationHandle, bundle, remoteInstallationId: bReq.installationId, now, ephemeralPrivateKey: k(), ratchetPrivateKey: k() })).sessionHandle;
  const m1 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab, plaintext: ascii("one") })).message;
  const r = await call("Respond", d.RespondRequestSchema, d.RespondResponseSchema, { installationHandle: pb.installationHandle, message: m1, remoteInstallationId: aReq.installationId, ratchetPrivateKey: k() });
  const m2 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab, plaintext: ascii("two") })).message;
  const st = (await call("ExportSession", d.ExportSessionRequestSchema, d.ExportSessionResponseSchema, { sessionHandle: r.sessionHandle })).state;
  console.log("v2 session state version field:", fromBinary(SessionStateSchema, st).version);
  const h2 = await call("ImportSession", d.ImportSessionRequestSchema, d.ImportSessionResponseSchema, { state: st });
  const y = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: h2.sessionHandle, message: m2, ratchetPrivateKey: k() });
  console.log("v2 message in an imported v2 session | python:", y.error ?? ("plaintext " + new TextDecoder().decode(y.plaintext)));
  const th = ts.importSession(create(d.ImportSessionRequestSchema, { state: st })).sessionHandle;
  let tsr; try { tsr = new TextDecoder().decode(ts.decrypt(create(d.DecryptRequestSchema, { sessionHandle: th, message: m2, ratchetPrivateKey: k() })).plaintext); } catch (e) { tsr = e.message; }
  console.log("  ts:", tsr);
}

// 4. Order of the X3DH-021 check: a copy of an accepted initial message whose X3DH header names another EK_A.
{
  const W = await import("../dist/gen/parley/v1/wire_pb.js");
  const pol = { reads: [1], writes: 1 };
  const aReq = instReq(pol), bReq = instReq(pol);
  const a = ts.createInstallation(create(d.CreateInstallationRequestSchema, aReq));
  const pb = await call("CreateInstallation", d.CreateInstallationRequestSchema, d.CreateInstallationResponseSchema, bReq);
  const tb = ts.createInstallation(create(d.CreateInstallationRequestSchema, bReq));
  const bundle = (await call("CreateBundle", d.CreateBundleRequestSchema, d.CreateBundleResponseSchema, { installationHandles: [pb.installationHandle], now })).bundle;
  const ab = ts.initiate(create(d.InitiateRequestSchema, { installationHandle: a.installationHandle, bundle, remoteInstallationId: bReq.installationId, now, ephemeralPrivateKey: k(), ratchetPrivateKey: k() })).sessionHandle;
  const m1 = ts.encrypt(create(d.EncryptRequestSchema, { sessionHandle: ab, plaintext: ascii("one") })).message;
  const rk = k();
  const r = await call("Respond", d.RespondRequestSchema, d.RespondResponseSchema, { installationHandle: pb.installationHandle, message: m1, remoteInstallationId: aReq.installationId, ratchetPrivateKey: rk });
  const tr = ts.respond(create(d.RespondRequestSchema, { installationHandle: tb.installationHandle, message: m1, remoteInstallationId: aReq.installationId, ratchetPrivateKey: rk }));
  const msg = fromBinary(W.RatchetMessageSchema, m1);
  const x = fromBinary(W.X3DHHeaderSchema, msg.x3dhHeader);
  x.ephemeralKey = x.ephemeralKey.slice(); x.ephemeralKey[0] ^= 1;
  msg.x3dhHeader = toBinary(W.X3DHHeaderSchema, x);
  const forged = toBinary(W.RatchetMessageSchema, msg);
  for (const [label, m] of [["copy of m1 (duplicate)", m1], ["copy of m1 with another EK_A in its X3DH header", forged]]) {
    const y = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: r.sessionHandle, message: m, ratchetPrivateKey: k() });
    let tsr; try { ts.decrypt(create(d.DecryptRequestSchema, { sessionHandle: tr.sessionHandle, message: m, ratchetPrivateKey: k() })); tsr = "ok"; } catch (e) { tsr = e.message; }
    console.log(label.padEnd(50), "| python:", y.error ?? "ok", "| ts:", tsr);
  }
}

// 5. Codes the spec does not pin.
{
  const W = await import("../dist/gen/parley/v1/wire_pb.js");
  const show = async (label, name, rq, rs, init, tsfn) => {
    const y = await call(name, rq, rs, init);
    let tsr; try { tsfn(create(rq, init)); tsr = "ok"; } catch (e) { tsr = e.message; }
    console.log(label.padEnd(58), "| python:", (y.error ?? "ok").slice(0, 70), "| ts:", tsr.slice(0, 60));
  };
  const header = (v, klen) => toBinary(W.RatchetHeaderSchema, create(W.RatchetHeaderSchema, { version: v, ratchetKey: new Uint8Array(klen).fill(9), messageNumber: 1 }));
  const big = (v, klen, ctlen, maclen) => toBinary(W.RatchetMessageSchema, create(W.RatchetMessageSchema, { header: header(v, klen), ciphertext: new Uint8Array(ctlen), mac: new Uint8Array(maclen) }));
  const R = [d.DecodeRatchetMessageRequestSchema, d.DecodeRatchetMessageResponseSchema];
  await show("ciphertext 1 MiB + 32 (multiple of 16)", "DecodeRatchetMessage", ...R, { message: big(1, 32, 1048608, 32) }, (r) => ts.decodeRatchetMessage(r));
  await show("ciphertext 1 MiB + 17", "DecodeRatchetMessage", ...R, { message: big(1, 32, 1048593, 32) }, (r) => ts.decodeRatchetMessage(r));
  await show("ciphertext 1 MiB + 32, 31-byte MAC", "DecodeRatchetMessage", ...R, { message: big(1, 32, 1048608, 31) }, (r) => ts.decodeRatchetMessage(r));
  await show("ciphertext 1 MiB + 32, 31-byte ratchet key", "DecodeRatchetMessage", ...R, { message: big(1, 31, 1048608, 32) }, (r) => ts.decodeRatchetMessage(r));
  const K = [d.KdfRequestSchema, d.KdfResponseSchema];
  await show("KDF_CK with a 31-byte key", "Kdf", ...K, { profile: 1, function: d.KdfFunction.CHAIN, key: new Uint8Array(31) }, (r) => ts.kdf(r));
  await show("KDF_RK with a 16-byte input", "Kdf", ...K, { profile: 1, function: d.KdfFunction.ROOT, key: new Uint8Array(32), input: new Uint8Array(16) }, (r) => ts.kdf(r));
  await show("X3DH KDF with 64 bytes of input", "Kdf", ...K, { profile: 1, function: d.KdfFunction.X3DH, input: new Uint8Array(64) }, (r) => ts.kdf(r));
  await show("KDF of profile 2", "Kdf", ...K, { profile: 2, function: d.KdfFunction.CHAIN, key: new Uint8Array(32) }, (r) => ts.kdf(r));
  const st = fromBinary(SessionStateSchema, bState); st.profile = 2;
  await show("import a session of profile 2", "ImportSession", d.ImportSessionRequestSchema, d.ImportSessionResponseSchema, { state: toBinary(SessionStateSchema, st) }, (r) => ts.importSession(r));
  const st2 = fromBinary(SessionStateSchema, bState); st2.version = 0;
  await show("import a session of protocol version 0", "ImportSession", d.ImportSessionRequestSchema, d.ImportSessionResponseSchema, { state: toBinary(SessionStateSchema, st2) }, (r) => ts.importSession(r));
  const st3 = fromBinary(SessionStateSchema, bState); st3.receivingChainKey = new Uint8Array(0);
  await show("import: receiving key without receiving chain", "ImportSession", d.ImportSessionRequestSchema, d.ImportSessionResponseSchema, { state: toBinary(SessionStateSchema, st3) }, (r) => ts.importSession(r));
  await show("negotiate, writes not among reads", "Negotiate", d.NegotiateRequestSchema, d.NegotiateResponseSchema, { policy: { reads: [1], writes: 2 }, peerReads: [1, 2] }, (r) => ts.negotiate(r));
  await show("negotiate, empty policy", "Negotiate", d.NegotiateRequestSchema, d.NegotiateResponseSchema, { peerReads: [1, 2] }, (r) => ts.negotiate(r));
  const ci = instReq(undefined); ci.signedPrekeys = [{ id: 7, privateKey: k(), createdAt: 1n }]; ci.oneTimePrekeys = [{ id: 9, privateKey: k() }];
  const pci = await call("CreateInstallation", d.CreateInstallationRequestSchema, d.CreateInstallationResponseSchema, ci);
  const pst = await call("ExportInstallation", d.ExportInstallationRequestSchema, d.ExportInstallationResponseSchema, { installationHandle: pci.installationHandle });
  const tci = ts.createInstallation(create(d.CreateInstallationRequestSchema, ci));
  const tst = ts.exportInstallation(create(d.ExportInstallationRequestSchema, { installationHandle: tci.installationHandle }));
  console.log("ExportInstallation after CreateInstallation(spk 7, opk 9): same bytes?", toHex(pst.state) === toHex(tst.state), toHex(pst.state).slice(-12), toHex(tst.state).slice(-12));
}

// 6. Contact codes and failure reasons the spec leaves open.
{
  const show = async (label, name, rq, rs, init, tsfn) => {
    const y = await call(name, rq, rs, init);
    let tsr; try { tsfn(create(rq, init)); tsr = "ok"; } catch (e) { tsr = e.message; }
    console.log(label.padEnd(58), "| python:", (y.error ?? "ok").slice(0, 70), "| ts:", tsr.slice(0, 60));
  };
  const C = [d.DecodeContactCodeRequestSchema, d.DecodeContactCodeResponseSchema];
  // A bundle of two installations of one account: 334 bytes of contact code, so the last base32 character has unused bits.
  const twin = instReq(undefined);
  const i1 = ts.createInstallation(create(d.CreateInstallationRequestSchema, twin));
  const i2 = ts.createInstallation(create(d.CreateInstallationRequestSchema, { ...twin, installationId: rng.randomBytes(16) }));
  const bundle2 = ts.createBundle(create(d.CreateBundleRequestSchema, { installationHandles: [i1.installationHandle, i2.installationHandle], now })).bundle;
  const good = ts.encodeContactCode(create(d.EncodeContactCodeRequestSchema, { bundle: bundle2 })).text;
  const alpha = "abcdefghijklmnopqrstuvwxyz234567";
  const last = good[good.length - 1];
  const chars = good.length - "parley1:".length;
  const unused = (chars * 5) % 8;
  console.log("contact code: base32 characters", chars, "unused bits in the last one:", unused);
  if (unused > 0) {
    const flipped = good.slice(0, -1) + alpha[alpha.indexOf(last) ^ 1];
    await show("contact code, an unused bit of the last character set", "DecodeContactCode", ...C, { text: flipped }, (r) => ts.decodeContactCode(r));
  }
  await show("contact code of 16385 characters with the white space", "DecodeContactCode", ...C, { text: good + " ".repeat(16385 - good.length) }, (r) => ts.decodeContactCode(r));
  const F = [d.DecideFailureRequestSchema, d.DecideFailureResponseSchema];
  await show("DecideFailure of an unknown reason", "DecideFailure", ...F, { reason: "SOMETHING" }, (r) => ts.decideFailure(r));
  await show("DecideFailure of a local code", "DecideFailure", ...F, { reason: "SESSION_STATE" }, (r) => ts.decideFailure(r));
}
// A message with Alice's X3DH header (pending) after Bob replied... Alice's m1 again with a changed EK in the X3DH header
py.kill();
process.exit(0);
