/**
 * A session saved by one implementation loads in the other: TypeScript saves
 * a session with skipped keys and retired chains, the Python reference
 * driver (run as a black box over gRPC) loads it, saves it back byte for
 * byte, and goes on decrypting; and the reverse. Needs the repository's
 * .venv (make setup), as `make test` has.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ascii, toHex } from "../src/bytes.js";
import * as d from "../src/gen/parley/driver/v1/driver_pb.js";
import { DeterministicRandom } from "../src/primitives.js";
import { loadSession, saveSession } from "../src/state.js";
import { pair } from "./helpers.js";
import { REPO } from "./paths.js";
import { Session } from "../src/session.js";

const PYTHON = process.env.PYTHON ?? join(REPO, ".venv", "bin", "python");
let py: ChildProcess;
let client: grpc.Client;

beforeAll(async () => {
  expect(existsSync(PYTHON), `the Python driver needs ${PYTHON} (make setup)`).toBe(true);
  py = spawn(PYTHON, ["-m", "parley.conformance.driver", "--port", "0"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = "";
    const look = (c: Buffer) => {
      seen += c;
      const m = /127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) resolve(Number(m[1]));
    };
    py.stdout!.on("data", look);
    py.stderr!.on("data", look);
    py.on("exit", () => reject(new Error(`the Python driver exited: ${seen}`)));
  });
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  py?.kill();
});

function call<I extends DescMessage, O extends DescMessage>(name: string, i: I, o: O, init: MessageInitShape<I>): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      `/${d.DriverService.typeName}/${name}`,
      (m: MessageShape<I>) => Buffer.from(toBinary(i, m)),
      (b: Buffer) => fromBinary(o, new Uint8Array(b)),
      create(i, init),
      (err, res) => (err ? reject(new Error(err.details)) : resolve(res!)),
    ),
  );
}

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

describe("saved sessions between the implementations", () => {
  it("a TypeScript-saved session loads in Python, saves back the same bytes and goes on", async () => {
    const { rng, bob, ab, alice } = pair("interop/ts-to-py");
    const { session: ba } = Session.respond(bob, ab.encrypt(text("0")), alice.installationId, rng);
    const late = [ab.encrypt(text("1")), ab.encrypt(text("2"))];
    ba.decrypt(ab.encrypt(text("3")), rng); // skips 1 and 2
    ab.decrypt(ba.encrypt(text("r")), rng); // a turn: Alice's next chain retires nothing yet
    ba.decrypt(ab.encrypt(text("4")), rng); // Bob retires Alice's first chain
    const saved = saveSession(ba);
    expect(ba.fields().skipped.size).toBe(2);
    expect(ba.fields().retired.length).toBe(1);
    const h = (await call("ImportSession", d.ImportSessionRequestSchema, d.ImportSessionResponseSchema, { state: saved })).sessionHandle;
    const back = (await call("ExportSession", d.ExportSessionRequestSchema, d.ExportSessionResponseSchema, { sessionHandle: h })).state;
    expect(toHex(back)).toBe(toHex(saved));
    for (const [i, m] of late.entries()) {
      const r = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: h, message: m, ratchetPrivateKey: rng.randomBytes(32) });
      expect(untext(r.plaintext)).toBe(String(i + 1));
    }
    const next = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: h, message: ab.encrypt(text("5")), ratchetPrivateKey: rng.randomBytes(32) });
    expect(untext(next.plaintext)).toBe("5");
    const reply = (await call("Encrypt", d.EncryptRequestSchema, d.EncryptResponseSchema, { sessionHandle: h, plaintext: text("from Python") })).message;
    expect(untext(ab.decrypt(reply, rng))).toBe("from Python");
  });

  it("a Python-saved session loads in TypeScript, saves back the same bytes and goes on", async () => {
    const rng = new DeterministicRandom(ascii("interop/py-to-ts"));
    const keys = () => rng.randomBytes(32);
    const inst = () => ({
      profile: 1,
      identity: { signingPrivateKey: keys(), dhPrivateKey: keys() },
      installationId: rng.randomBytes(16),
      signedPrekeys: [{ id: 1, privateKey: keys(), createdAt: 1767139200n }],

    });
    const a = inst();
    const b = inst();
    const ha = (await call("CreateInstallation", d.CreateInstallationRequestSchema, d.CreateInstallationResponseSchema, a)).installationHandle;
    const hb = (await call("CreateInstallation", d.CreateInstallationRequestSchema, d.CreateInstallationResponseSchema, b)).installationHandle;
    const now = 1767225600n;
    const bundle = (await call("CreateBundle", d.CreateBundleRequestSchema, d.CreateBundleResponseSchema, { installationHandles: [hb], now })).bundle;
    const sab = (await call("Initiate", d.InitiateRequestSchema, d.InitiateResponseSchema, { installationHandle: ha, bundle, remoteInstallationId: b.installationId, now, ephemeralPrivateKey: keys(), ratchetPrivateKey: keys() })).sessionHandle;
    const enc = async (h: bigint, s: string) => (await call("Encrypt", d.EncryptRequestSchema, d.EncryptResponseSchema, { sessionHandle: h, plaintext: text(s) })).message;
    const m0 = await enc(sab, "0");
    const late = await enc(sab, "1");
    const m2 = await enc(sab, "2");
    const sba = (await call("Respond", d.RespondRequestSchema, d.RespondResponseSchema, { installationHandle: hb, message: m0, remoteInstallationId: a.installationId, ratchetPrivateKey: keys() })).sessionHandle;
    await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: sba, message: m2, ratchetPrivateKey: keys() });
    const saved = (await call("ExportSession", d.ExportSessionRequestSchema, d.ExportSessionResponseSchema, { sessionHandle: sba })).state;
    const loaded = loadSession(saved);
    expect(toHex(saveSession(loaded))).toBe(toHex(saved));
    expect(untext(loaded.decrypt(late, rng))).toBe("1");
    const reply = loaded.encrypt(text("from TypeScript"));
    const r = await call("Decrypt", d.DecryptRequestSchema, d.DecryptResponseSchema, { sessionHandle: sab, message: reply, ratchetPrivateKey: keys() });
    expect(untext(r.plaintext)).toBe("from TypeScript");
  });
});
