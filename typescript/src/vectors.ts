/**
 * An in-process runner of the vector files under test-vectors/ against the
 * driver operations (driver/core.ts), written from test-vectors/README.md.
 * No Node API: the browser test page runs it too. The gRPC path is the
 * Python runner's (`make conformance`); this one proves the same vectors pass
 * where there is no gRPC, and reports every case.
 */
import { create } from "@bufbuild/protobuf";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import * as d from "./gen/parley/driver/v1/driver_pb.js";
import { DriverCore } from "./driver/core.js";
import { fromHex, toHex } from "./bytes.js";
import { ParleyError } from "./errors.js";
import { runAccumulated } from "./conformance/accumulated.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export type Outcome = "passed" | "failed" | "skipped";

export interface CaseResult {
  tcId: string;
  family: string;
  outcome: Outcome;
  detail: string;
}

class Mismatch extends Error {}

function req<S extends DescMessage>(schema: S, init: MessageInitShape<S>): MessageShape<S> {
  return create(schema, init);
}

function hx(s: string | undefined): Uint8Array {
  return s === undefined ? new Uint8Array(0) : fromHex(s);
}

function eqHex(actual: Uint8Array, expected: string | undefined, what: string): void {
  if (expected === undefined) return;
  const a = toHex(actual);
  if (a !== expected) throw new Mismatch(`${what}: got ${a.slice(0, 64)}${a.length > 64 ? "..." : ""}, the vector says ${expected.slice(0, 64)}`);
}

function eqVal(actual: unknown, expected: unknown, what: string): void {
  if (expected === undefined) return;
  const a = typeof actual === "bigint" ? Number(actual) : actual;
  if (JSON.stringify(a) !== JSON.stringify(expected)) throw new Mismatch(`${what}: got ${JSON.stringify(a)}, the vector says ${JSON.stringify(expected)}`);
}

function policy(p: Json): MessageInitShape<typeof d.VersionPolicySchema> | undefined {
  return p === undefined ? undefined : { reads: p.reads, writes: p.writes };
}

/** Run `op`; compare a refusal with `error` (or fail on an unexpected one). Returns undefined when refused as expected. */
function expectOutcome<T>(op: () => T, error: string | undefined, acceptable = false): T | undefined {
  let out: T;
  try {
    out = op();
  } catch (e) {
    if (!(e instanceof ParleyError)) throw e;
    if (error !== undefined && e.code === error) return undefined;
    if (acceptable) return undefined;
    throw new Mismatch(`refused with ${e.code}, the vector says ${error ?? "it succeeds"}`);
  }
  if (error !== undefined) throw new Mismatch(`succeeded, the vector says ${error}`);
  return out;
}

function installationRequest(p: Json, profile = 1): MessageInitShape<typeof d.CreateInstallationRequestSchema> {
  const init: MessageInitShape<typeof d.CreateInstallationRequestSchema> = {
    profile,
    identity: { signingPrivateKey: hx(p.signingPrivateKey), dhPrivateKey: hx(p.dhPrivateKey) },
    installationId: hx(p.installationId),
    signedPrekeys: (p.signedPreKeys ?? []).map((k: Json) => ({
      id: k.id,
      privateKey: hx(k.privateKey),
      createdAt: BigInt(k.createdAt ?? 0),
      supersededAt: BigInt(k.supersededAt ?? 0),
    })),
    oneTimePrekeys: (p.oneTimePreKeys ?? []).map((k: Json) => ({ id: k.id, privateKey: hx(k.privateKey) })),
  };
  const pol = policy(p.policy);
  if (pol !== undefined) init.policy = pol;
  return init;
}

function checkX3dhDecoded(m: MessageShape<typeof d.DecodeRatchetMessageResponseSchema>, x: Json): void {
  if (x === undefined) {
    eqVal(m.hasX3dhHeader, false, "has X3DH header");
    return;
  }
  eqVal(m.hasX3dhHeader, true, "has X3DH header");
  eqHex(m.initiatorIdentity, x.initiatorIdentity, "initiator identity");
  eqHex(m.ephemeralKey, x.ephemeralKey, "ephemeral key");
  eqVal(m.signedPrekeyId, x.signedPreKeyId, "signed prekey id");
  eqVal(m.oneTimePrekeyId ?? null, x.oneTimePreKeyId ?? null, "one-time prekey id");
}

const KDF_FUNCTIONS: Record<string, d.KdfFunction> = {
  KDF_RK: d.KdfFunction.ROOT,
  KDF_CK: d.KdfFunction.CHAIN,
  MESSAGE_KEYS: d.KdfFunction.MESSAGE_KEYS,
  X3DH_KDF: d.KdfFunction.X3DH,
  NO_BUNDLE_KDF: d.KdfFunction.NO_BUNDLE,
};

function runFlat(type: string, group: Json, t: Json): void {
  const core = new DriverCore();
  const acceptable = t.result === "acceptable";
  const error: string | undefined = t.result === "invalid" ? t.error : undefined;
  switch (type) {
    case "KdfTest": {
      const fn = KDF_FUNCTIONS[group.function];
      if (fn === undefined) throw new Mismatch(`unknown KDF function ${group.function}`);
      const out = expectOutcome(() => core.kdf(req(d.KdfRequestSchema, { profile: group.profile, function: fn, key: hx(t.key), input: hx(t.input) })), error, acceptable);
      if (out !== undefined) (t.outputs as string[]).forEach((o, i) => eqHex((out.outputs as Uint8Array[])[i] ?? new Uint8Array(0), o, `output ${i}`));
      return;
    }
    case "X3dhTest": {
      const role = t.role === "initiator" ? d.X3dhRole.INITIATOR : d.X3dhRole.RESPONDER;
      const out = expectOutcome(
        () =>
          core.x3dhAgreement(
            req(d.X3dhAgreementRequestSchema, {
              profile: group.profile,
              role,
              identity: { signingPrivateKey: hx(t.signingPrivateKey), dhPrivateKey: hx(t.dhPrivateKey) },
              installationId: hx(t.installationId),
              ephemeralPrivateKey: hx(t.ephemeralPrivateKey),
              signedPrekeyPrivateKey: hx(t.signedPreKeyPrivateKey),
              oneTimePrekeyPrivateKey: hx(t.oneTimePreKeyPrivateKey),
              peerIdentity: hx(t.peerIdentity),
              peerInstallationId: hx(t.peerInstallationId),
              peerSignedPrekey: hx(t.peerSignedPreKey),
              peerOneTimePrekey: hx(t.peerOneTimePreKey),
              peerEphemeralKey: hx(t.peerEphemeralKey),
            }),
          ),
        error,
        acceptable,
      );
      if (out !== undefined) {
        const dh = out.dhOutputs as Uint8Array[];
        eqVal(dh.length, (t.dhOutputs as string[] | undefined)?.length, "number of DH outputs");
        (t.dhOutputs as string[] | undefined)?.forEach((o, i) => eqHex(dh[i]!, o, `DH${i + 1}`));
        eqHex(out.sharedKey as Uint8Array, t.sharedKey, "SK");
        eqHex(out.associatedData as Uint8Array, t.associatedData, "AD");
      }
      return;
    }
    case "BundleCreateTest": {
      const handles = (t.installations as Json[]).map(
        (inst) =>
          core.createInstallation(
            req(d.CreateInstallationRequestSchema, installationRequest({ ...inst, signingPrivateKey: t.signingPrivateKey, dhPrivateKey: t.dhPrivateKey }, group.profile)),
          ).installationHandle as bigint,
      );
      const init: MessageInitShape<typeof d.CreateBundleRequestSchema> = { installationHandles: handles, now: BigInt(t.now) };
      if (t.oneTimePreKeyLimit !== undefined) init.oneTimePrekeyLimit = t.oneTimePreKeyLimit;
      const out = expectOutcome(() => core.createBundle(req(d.CreateBundleRequestSchema, init)), error, acceptable);
      if (out !== undefined) eqHex(out.bundle as Uint8Array, t.bundle, "bundle");
      return;
    }
    case "BundleVerifyTest": {
      const out = expectOutcome(() => core.verifyBundle(req(d.VerifyBundleRequestSchema, { bundle: hx(t.bundle), now: BigInt(t.now), profile: group.profile })), error, acceptable);
      const x = t.decoded;
      if (out !== undefined && x !== undefined) {
        eqVal(out.profile, x.profile, "profile");
        eqHex(out.identity as Uint8Array, x.identity, "identity");
        eqVal(out.timestamp, x.timestamp, "timestamp");
        eqHex(out.signedBytes as Uint8Array, x.signedBytes, "signed bytes");
        const es = out.entries as MessageInitShape<typeof d.BundleEntrySchema>[];
        eqVal(es.length, x.entries.length, "number of entries");
        (x.entries as Json[]).forEach((e, i) => {
          const a = es[i]!;
          eqHex(a.installationId as Uint8Array, e.installationId, `entry ${i} installation id`);
          eqVal(a.signedPrekeyId, e.signedPreKeyId, `entry ${i} signed prekey id`);
          eqHex(a.signedPrekey as Uint8Array, e.signedPreKey, `entry ${i} signed prekey`);
          eqVal(a.protocolVersions, e.protocolVersions, `entry ${i} versions`);
          eqVal(
            (a.oneTimePrekeys as { id: number; publicKey: Uint8Array }[]).map((k) => ({ id: k.id, publicKey: toHex(k.publicKey) })),
            e.oneTimePreKeys,
            `entry ${i} one-time prekeys`,
          );
        });
      }
      return;
    }
    case "RatchetMessageDecodeTest": {
      let msg = hx(t.message);
      if (t.paddedLength !== undefined) {
        const padded = new Uint8Array(t.paddedLength);
        padded.set(msg);
        msg = padded;
      }
      const init: MessageInitShape<typeof d.DecodeRatchetMessageRequestSchema> = { message: msg };
      const pol = policy(t.policy);
      if (pol !== undefined) init.policy = pol;
      const out = expectOutcome(() => core.decodeRatchetMessage(req(d.DecodeRatchetMessageRequestSchema, init)), error, acceptable);
      const x = t.decoded;
      if (out !== undefined && x !== undefined) {
        const m = req(d.DecodeRatchetMessageResponseSchema, out);
        eqVal(m.version, x.version, "version");
        eqHex(m.ratchetKey, x.ratchetKey, "ratchet key");
        eqVal(m.previousChainLength, x.previousChainLength, "PN");
        eqVal(m.messageNumber, x.messageNumber, "N");
        eqHex(m.ciphertext, x.ciphertext, "ciphertext");
        eqHex(m.mac, x.mac, "MAC");
        checkX3dhDecoded(m, x.x3dh);
      }
      return;
    }
    case "NoBundleMessageDecodeTest": {
      const init: MessageInitShape<typeof d.DecodeNoBundleMessageRequestSchema> = { message: hx(t.message) };
      const pol = policy(t.policy);
      if (pol !== undefined) init.policy = pol;
      const out = expectOutcome(() => core.decodeNoBundleMessage(req(d.DecodeNoBundleMessageRequestSchema, init)), error, acceptable);
      const x = t.decoded;
      if (out !== undefined && x !== undefined) {
        const m = req(d.DecodeNoBundleMessageResponseSchema, out);
        eqVal(m.version, x.version, "version");
        eqHex(m.senderIdentity, x.senderIdentity, "sender identity");
        eqHex(m.ephemeralKey, x.ephemeralKey, "ephemeral key");
        eqHex(m.recipientDhKey, x.recipientDhKey, "recipient DH key");
        eqHex(m.ciphertext, x.ciphertext, "ciphertext");
        eqHex(m.mac, x.mac, "MAC");
      }
      return;
    }
    case "EnvelopeEncodeTest": {
      const out = expectOutcome(
        () =>
          core.encodeEnvelope(
            req(d.EncodeEnvelopeRequestSchema, {
              version: t.version,
              senderInstallationId: hx(t.senderInstallationId),
              copies: (t.copies as Json[]).map((c) => copyInit(c)),
              senderBundle: hx(t.senderBundle),
            }),
          ),
        error,
        acceptable,
      );
      if (out !== undefined) eqHex(out.envelope as Uint8Array, t.envelope, "envelope");
      return;
    }
    case "EnvelopeDecodeTest": {
      const init: MessageInitShape<typeof d.DecodeEnvelopeRequestSchema> = { envelope: hx(t.envelope) };
      const pol = policy(t.policy);
      if (pol !== undefined) init.policy = pol;
      const out = expectOutcome(() => core.decodeEnvelope(req(d.DecodeEnvelopeRequestSchema, init)), error, acceptable);
      if (out !== undefined && t.decoded !== undefined) checkEnvelope(req(d.DecodeEnvelopeResponseSchema, out), t.decoded, undefined);
      return;
    }
    case "NegotiateTest": {
      const out = expectOutcome(() => core.negotiate(req(d.NegotiateRequestSchema, { policy: policy(t.policy)!, peerReads: t.peerReads })), error, acceptable);
      if (out !== undefined) eqVal(out.version, t.version, "version");
      return;
    }
    case "ContactCodeEncodeTest": {
      const out = expectOutcome(() => core.encodeContactCode(req(d.EncodeContactCodeRequestSchema, { bundle: hx(t.bundle) })), error, acceptable);
      if (out !== undefined) {
        eqVal(out.text, t.text, "text");
        eqVal(out.qrText, t.qrText, "QR text");
      }
      return;
    }
    case "ContactCodeDecodeTest": {
      const out = expectOutcome(() => core.decodeContactCode(req(d.DecodeContactCodeRequestSchema, { text: t.text })), error, acceptable);
      if (out !== undefined) eqHex(out.bundle as Uint8Array, t.bundle, "bundle");
      return;
    }
    case "PayloadEncodeTest": {
      const init = { kind: t.kind, messageId: hx(t.messageId), peer: hx(t.peer), body: hx(t.body) };
      const out = expectOutcome(() => core.encodePayload(req(d.EncodePayloadRequestSchema, init)), error, acceptable);
      if (out !== undefined) eqHex(out.plaintext as Uint8Array, t.plaintext, "plaintext");
      return;
    }
    case "PayloadDecodeTest": {
      const out = expectOutcome(() => core.decodePayload(req(d.DecodePayloadRequestSchema, { plaintext: hx(t.plaintext) })), error, acceptable);
      const x = t.decoded;
      if (out !== undefined && x !== undefined) {
        eqVal(out.kind, x.kind, "kind");
        eqHex(out.messageId as Uint8Array, x.messageId, "message id");
        eqHex(out.peer as Uint8Array, x.peer, "peer");
        eqHex(out.body as Uint8Array, x.body, "body");
      }
      return;
    }
    case "SessionChoiceTest": {
      const init: MessageInitShape<typeof d.ChooseSessionRequestSchema> = { acceptedSessionId: hx(t.acceptedSessionId), acceptedReset: t.acceptedReset };
      if (t.current !== undefined) init.current = { sessionId: hx(t.current.sessionId), initiated: t.current.initiated, pending: t.current.pending };
      const out = expectOutcome(() => core.chooseSession(req(d.ChooseSessionRequestSchema, init)), error, acceptable);
      if (out !== undefined) eqHex(out.chosenSessionId as Uint8Array, t.chosenSessionId, "chosen session");
      return;
    }
    case "CopySelectionTest": {
      const out = expectOutcome(() => core.selectCopy(req(d.SelectCopyRequestSchema, { envelope: hx(t.envelope), installationId: hx(t.installationId) })), error, acceptable);
      if (out !== undefined) {
        eqVal(d.CopySelection[out.selection as d.CopySelection], t.selection, "selection");
        if (t.index !== undefined) eqVal(out.index ?? 0, t.index, "index");
      }
      return;
    }
    case "FailureActionTest": {
      const init: MessageInitShape<typeof d.DecideFailureRequestSchema> = { reason: t.reason };
      if (t.chosen !== undefined) init.chosen = { sessionId: hx(t.chosen.sessionId), initiated: t.chosen.initiated, pending: t.chosen.pending };
      const out = expectOutcome(() => core.decideFailure(req(d.DecideFailureRequestSchema, init)), error, acceptable);
      if (out !== undefined) {
        eqVal(d.FailureAction[out.action as d.FailureAction], t.action, "action");
        eqVal(out.reuseChosen ?? false, t.reuseChosen, "reuse the chosen session");
      }
      return;
    }
    default:
      throw new Mismatch(`unknown group type ${type}`);
  }
}

function kindOf(k: string): d.MessageKind {
  if (k === "ratchet") return d.MessageKind.RATCHET;
  if (k === "no_bundle") return d.MessageKind.NO_BUNDLE;
  return d.MessageKind.UNSPECIFIED;
}

function copyInit(c: Json, resolve?: (name: string) => Uint8Array): MessageInitShape<typeof d.EnvelopeCopySchema> {
  return {
    recipientInstallationId: hx(c.recipientInstallationId),
    kind: kindOf(c.kind),
    body: resolve === undefined ? hx(c.body) : resolve(c.body),
  };
}

function checkEnvelope(m: MessageShape<typeof d.DecodeEnvelopeResponseSchema>, x: Json, names: Map<string, Uint8Array> | undefined, copyNames?: string[]): void {
  eqVal(m.version, x.version, "envelope version");
  eqHex(m.senderInstallationId, x.senderInstallationId, "sender installation id");
  if (x.senderBundle !== undefined) eqHex(m.senderBundle, x.senderBundle, "sender bundle");
  if (x.copies !== undefined) {
    eqVal(m.copies.length, x.copies.length, "number of copies");
    (x.copies as Json[]).forEach((c, i) => {
      const a = m.copies[i]!;
      eqHex(a.recipientInstallationId, c.recipientInstallationId, `copy ${i} recipient`);
      eqVal(a.kind, kindOf(c.kind), `copy ${i} kind`);
      eqHex(a.body, c.body, `copy ${i} body`);
    });
  }
  if (names !== undefined && copyNames !== undefined) copyNames.forEach((n, i) => names.set(n, m.copies[i]?.body ?? new Uint8Array(0)));
}

/** A ScenarioTest: parties, then steps, every output compared and named for later steps. */
function runScenario(t: Json): void {
  const core = new DriverCore();
  const parties = new Map<string, bigint>();
  const identities = new Map<string, Uint8Array>();
  for (const [name, p] of Object.entries(t.parties as Record<string, Json>)) {
    const out = core.createInstallation(req(d.CreateInstallationRequestSchema, installationRequest(p)));
    parties.set(name, out.installationHandle as bigint);
    identities.set(name, out.identity as Uint8Array);
    eqHex(out.identity as Uint8Array, p.identity, `identity of ${name}`);
  }
  const party = (n: string): bigint => {
    const h = parties.get(n);
    if (h === undefined) throw new Mismatch(`unknown party ${n}`);
    return h;
  };
  const names = new Map<string, Uint8Array>();
  const sessions = new Map<string, bigint>();
  const session = (n: string): bigint => {
    const h = sessions.get(n);
    if (h === undefined) throw new Mismatch(`unknown session ${n}`);
    return h;
  };
  const input = (s: Json): Uint8Array => {
    if (s.inputHex !== undefined) return hx(s.inputHex);
    const v = names.get(s.input);
    if (v === undefined) throw new Mismatch(`no earlier output named ${s.input}`);
    return v;
  };
  const byName = (n: string): Uint8Array => {
    const v = names.get(n);
    if (v === undefined) throw new Mismatch(`no earlier output named ${n}`);
    return v;
  };
  const exportSession = (h: bigint): string => toHex(core.exportSession(req(d.ExportSessionRequestSchema, { sessionHandle: h })).state as Uint8Array);
  const exportInstallation = (h: bigint): string =>
    toHex(core.exportInstallation(req(d.ExportInstallationRequestSchema, { installationHandle: h })).state as Uint8Array);

  (t.steps as Json[]).forEach((s, i) => {
    const where = `step ${i + 1} (${s.op})`;
    try {
      switch (s.op) {
        case "bundle": {
          const out = core.createBundle(req(d.CreateBundleRequestSchema, { installationHandles: (s.parties as string[]).map(party), now: BigInt(s.now) }));
          eqHex(out.bundle as Uint8Array, s.bundle, "bundle");
          names.set(s.name, out.bundle as Uint8Array);
          return;
        }
        case "initiate": {
          const init: MessageInitShape<typeof d.InitiateRequestSchema> = {
            installationHandle: party(s.party),
            bundle: input(s),
            remoteInstallationId: hx(s.remoteInstallationId),
            now: BigInt(s.now),
            ephemeralPrivateKey: hx(s.ephemeralPrivateKey),
            ratchetPrivateKey: hx(s.ratchetPrivateKey),
          };
          if (s.oneTimePreKeyId !== undefined) init.oneTimePrekeyId = s.oneTimePreKeyId;
          const out = expectOutcome(() => core.initiate(req(d.InitiateRequestSchema, init)), s.error);
          if (out !== undefined) sessions.set(s.session, out.sessionHandle as bigint);
          return;
        }
        case "respond": {
          const h = party(s.party);
          const before = s.installationUnchanged ? exportInstallation(h) : "";
          const out = expectOutcome(
            () =>
              core.respond(
                req(d.RespondRequestSchema, {
                  installationHandle: h,
                  message: input(s),
                  remoteInstallationId: hx(s.remoteInstallationId),
                  ratchetPrivateKey: hx(s.ratchetPrivateKey),
                }),
              ),
            s.error,
          );
          if (out !== undefined) {
            sessions.set(s.session, out.sessionHandle as bigint);
            eqHex(out.plaintext as Uint8Array, s.plaintext, "plaintext");
          }
          if (s.installationUnchanged && exportInstallation(h) !== before) throw new Mismatch("the installation changed on a refused message");
          return;
        }
        case "encrypt": {
          const h = session(s.session);
          const count: number = s.count ?? 1;
          let last: Uint8Array | undefined;
          for (let k = 0; k < count; k++) {
            const out = expectOutcome(() => core.encrypt(req(d.EncryptRequestSchema, { sessionHandle: h, plaintext: hx(s.plaintext) })), s.error);
            if (out === undefined) return;
            last = out.message as Uint8Array;
          }
          if (last !== undefined) {
            eqHex(last, s.message, "message");
            if (s.name !== undefined) names.set(s.name, last);
          }
          return;
        }
        case "decrypt": {
          const h = session(s.session);
          const before = s.stateUnchanged ? exportSession(h) : "";
          const out = expectOutcome(
            () => core.decrypt(req(d.DecryptRequestSchema, { sessionHandle: h, message: input(s), ratchetPrivateKey: hx(s.ratchetPrivateKey) })),
            s.error,
          );
          if (out !== undefined) eqHex(out.plaintext as Uint8Array, s.plaintext, "plaintext");
          if (s.stateUnchanged && exportSession(h) !== before) throw new Mismatch("the session state changed on a refused message");
          return;
        }
        case "exportSession": {
          const st = exportSession(session(s.session));
          eqHex(fromHex(st), s.state, "state");
          names.set(s.name, fromHex(st));
          return;
        }
        case "importSession": {
          const out = expectOutcome(() => core.importSession(req(d.ImportSessionRequestSchema, { state: input(s) })), s.error);
          if (out !== undefined) sessions.set(s.session, out.sessionHandle as bigint);
          return;
        }
        case "attack": {
          const fresh = new DriverCore();
          const imported = fresh.importSession(req(d.ImportSessionRequestSchema, { state: byName(s.state) })).sessionHandle as bigint;
          let plaintext: Uint8Array | undefined;
          try {
            plaintext = fresh.decrypt(req(d.DecryptRequestSchema, { sessionHandle: imported, message: input(s), ratchetPrivateKey: hx(s.ratchetPrivateKey) }))
              .plaintext as Uint8Array;
          } catch (e) {
            if (!(e instanceof ParleyError)) throw e;
            plaintext = undefined;
          }
          if (s.derivable) {
            if (plaintext === undefined) throw new Mismatch("the leaked state should decrypt the message");
            eqHex(plaintext, s.plaintext, "plaintext");
          } else if (plaintext !== undefined) {
            throw new Mismatch("the leaked state decrypted a message it must not");
          }
          return;
        }
        case "sealNoBundle": {
          const recipient = identities.get(s.recipient);
          if (recipient === undefined) throw new Mismatch(`unknown recipient ${s.recipient}`);
          const out = expectOutcome(
            () =>
              core.sealNoBundle(
                req(d.SealNoBundleRequestSchema, {
                  installationHandle: party(s.party),
                  recipientIdentity: recipient,
                  plaintext: hx(s.plaintext),
                  ephemeralPrivateKey: hx(s.ephemeralPrivateKey),
                  version: s.version ?? 0,
                }),
              ),
            s.error,
          );
          if (out !== undefined) {
            eqHex(out.message as Uint8Array, s.message, "message");
            names.set(s.name, out.message as Uint8Array);
          }
          return;
        }
        case "openNoBundle": {
          const out = expectOutcome(
            () =>
              core.openNoBundle(
                req(d.OpenNoBundleRequestSchema, { installationHandle: party(s.party), message: input(s), senderInstallationId: hx(s.senderInstallationId) }),
              ),
            s.error,
          );
          if (out !== undefined) {
            eqHex(out.plaintext as Uint8Array, s.plaintext, "plaintext");
            eqHex(out.senderIdentity as Uint8Array, s.senderIdentity, "sender identity");
            eqVal(out.forwardSecret, s.forwardSecret, "forward secret");
          }
          return;
        }
        case "encodeEnvelope": {
          const out = expectOutcome(
            () =>
              core.encodeEnvelope(
                req(d.EncodeEnvelopeRequestSchema, {
                  version: s.version,
                  senderInstallationId: hx(s.senderInstallationId),
                  copies: (s.copies as Json[]).map((c) => copyInit(c, byName)),
                  senderBundle: s.senderBundle === undefined ? new Uint8Array(0) : byName(s.senderBundle),
                }),
              ),
            s.error,
          );
          if (out !== undefined) {
            eqHex(out.envelope as Uint8Array, s.envelope, "envelope");
            names.set(s.name, out.envelope as Uint8Array);
          }
          return;
        }
        case "decodeEnvelope": {
          const out = expectOutcome(() => core.decodeEnvelope(req(d.DecodeEnvelopeRequestSchema, { envelope: input(s) })), s.error);
          if (out !== undefined) checkEnvelope(req(d.DecodeEnvelopeResponseSchema, out), s, names, s.copyNames);
          return;
        }
        default:
          throw new Mismatch(`unknown operation ${s.op}`);
      }
    } catch (e) {
      if (e instanceof Mismatch) throw new Mismatch(`${where}: ${e.message}`);
      throw e;
    }
  });
}

const COMMON = ["tcId", "comment", "flags", "requirements", "result", "error"];
/** The fields of each case this runner reads; a case with another field fails, so a new field is never ignored silently. */
const KNOWN_FIELDS: Record<string, string[]> = {
  ScenarioTest: ["parties", "steps"],
  AccumulatedTest: ["counts", "seed", "sha256", "steps"],
  NegotiateTest: ["peerReads", "policy", "version"],
  RatchetMessageDecodeTest: ["decoded", "message", "paddedLength", "policy"],
  NoBundleMessageDecodeTest: ["decoded", "message", "policy"],
  EnvelopeEncodeTest: ["copies", "envelope", "senderBundle", "senderInstallationId", "version"],
  EnvelopeDecodeTest: ["decoded", "envelope", "policy"],
  X3dhTest: ["associatedData", "dhOutputs", "dhPrivateKey", "ephemeralPrivateKey", "installationId", "oneTimePreKeyPrivateKey", "peerEphemeralKey", "peerIdentity", "peerInstallationId", "peerOneTimePreKey", "peerSignedPreKey", "role", "sharedKey", "signedPreKeyPrivateKey", "signingPrivateKey"],
  KdfTest: ["input", "key", "outputs"],
  PayloadEncodeTest: ["body", "kind", "messageId", "peer", "plaintext"],
  PayloadDecodeTest: ["decoded", "plaintext"],
  ContactCodeEncodeTest: ["bundle", "qrText", "text"],
  ContactCodeDecodeTest: ["bundle", "text"],
  BundleCreateTest: ["bundle", "dhPrivateKey", "installations", "now", "oneTimePreKeyLimit", "signingPrivateKey"],
  BundleVerifyTest: ["bundle", "decoded", "now"],
  SessionChoiceTest: ["acceptedReset", "acceptedSessionId", "chosenSessionId", "current"],
  CopySelectionTest: ["envelope", "index", "installationId", "selection"],
  FailureActionTest: ["action", "chosen", "reason", "reuseChosen"],
};
const KNOWN_STEP_FIELDS: Record<string, string[]> = {
  bundle: ["bundle", "name", "now", "parties"],
  initiate: ["ephemeralPrivateKey", "error", "input", "inputHex", "now", "oneTimePreKeyId", "party", "ratchetPrivateKey", "remoteInstallationId", "session"],
  encrypt: ["count", "error", "message", "name", "plaintext", "session"],
  respond: ["error", "input", "inputHex", "installationUnchanged", "party", "plaintext", "ratchetPrivateKey", "remoteInstallationId", "session"],
  decrypt: ["error", "input", "inputHex", "plaintext", "ratchetPrivateKey", "session", "stateUnchanged"],
  exportSession: ["name", "session", "state"],
  importSession: ["error", "input", "inputHex", "party", "session"],
  sealNoBundle: ["ephemeralPrivateKey", "error", "message", "name", "party", "plaintext", "recipient", "version"],
  encodeEnvelope: ["copies", "envelope", "error", "name", "party", "senderBundle", "senderInstallationId", "version"],
  decodeEnvelope: ["copies", "copyNames", "error", "input", "inputHex", "party", "senderBundle", "senderInstallationId", "version"],
  openNoBundle: ["error", "forwardSecret", "input", "inputHex", "party", "plaintext", "senderIdentity", "senderInstallationId"],
  // referenceError is what the reference answered; any refusal is right (test-vectors/README.md).
  attack: ["derivable", "input", "party", "plaintext", "ratchetPrivateKey", "referenceError", "state"],
};
const KNOWN_PARTY_FIELDS = ["dhPrivateKey", "identity", "installationId", "oneTimePreKeys", "policy", "side", "signedPreKeys", "signingPrivateKey"];

function checkKnown(what: string, obj: Json, known: string[]): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) throw new Mismatch(`${what} has a field this runner does not read: ${k}`);
}

function checkFields(type: string, t: Json): void {
  const known = KNOWN_FIELDS[type];
  if (known === undefined) throw new Mismatch(`unknown group type ${type}`);
  checkKnown("the case", t, [...COMMON, ...known]);
  if (type !== "ScenarioTest") return;
  for (const [name, p] of Object.entries(t.parties as Record<string, Json>)) checkKnown(`party ${name}`, p, KNOWN_PARTY_FIELDS);
  (t.steps as Json[]).forEach((s, i) => {
    const ks = KNOWN_STEP_FIELDS[s.op];
    if (ks === undefined) throw new Mismatch(`step ${i + 1}: unknown operation ${s.op}`);
    checkKnown(`step ${i + 1} (${s.op})`, s, ["op", ...ks]);
  });
}

function runWalk(t: Json): void {
  const { sha256, counts } = runAccumulated(t.seed, t.steps);
  const sorted = (c: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : 1))));
  eqVal(sorted(counts), sorted(t.counts), "counts");
  eqVal(sha256, t.sha256, "sha256");
}

/**
 * Run every case of the given vector files (file name without `.json` -> parsed JSON).
 * AccumulatedTest cases play the walk of spec/conformance.md (conformance/accumulated.ts).
 */
export function runVectors(files: Record<string, Json>, onCase?: (r: CaseResult) => void): CaseResult[] {
  const results: CaseResult[] = [];
  for (const [family, file] of Object.entries(files)) {
    for (const group of file.testGroups as Json[]) {
      for (const t of group.tests as Json[]) {
        let r: CaseResult;
        try {
          checkFields(group.type, t);
          if (group.type === "ScenarioTest") runScenario(t);
          else if (group.type === "AccumulatedTest") runWalk(t);
          else runFlat(group.type, group, t);
          r = { tcId: t.tcId, family, outcome: "passed", detail: "" };
        } catch (e) {
          const msg = e instanceof Error ? `${e instanceof Mismatch ? "" : e.name + ": "}${e.message}` : String(e);
          r = { tcId: t.tcId, family, outcome: "failed", detail: msg };
        }
        results.push(r);
        onCase?.(r);
      }
    }
  }
  return results;
}

/** One line: "N passed, N failed, N skipped". */
export function summary(results: CaseResult[]): string {
  const n = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  return `${n("passed")} passed, ${n("failed")} failed, ${n("skipped")} skipped`;
}
