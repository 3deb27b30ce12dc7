/**
 * The conformance driver's operations (proto/parley/driver/v1/driver.proto)
 * over the core, independent of any transport: the gRPC server (driver.ts)
 * and the in-process vector runner (vectors.ts, also in the browser) call it.
 * Every private key comes from the request; no clock is read.
 */
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import * as d from "../gen/parley/driver/v1/driver_pb.js";
import { createBundle, verifyBundle } from "../bundle.js";
import { concat, toHex } from "../bytes.js";
import { decodeNoBundleMessage, decodeRatchetMessage } from "../codec.js";
import { decodeEnvelope, encodeEnvelope, type CopyKind } from "../envelope.js";
import { InvalidArgument, MalformedMessage, UnsupportedProfile } from "../errors.js";
import { kdfCk, kdfRk, messageKeys, noBundleKdf, x3dhKdf } from "../kdf.js";
import { IdentityKeyPair, Installation, oneTimePreKey, PublicIdentity, signedPreKey } from "../keys.js";
import { openNoBundle, sealNoBundle, type NoBundleReplayCache } from "../nobundle.js";
import type { RandomSource } from "../primitives.js";
import { PROFILE_ID } from "../profile.js";
import { Session } from "../session.js";
import { loadSession, saveInstallation, saveSession } from "../state.js";
import { makePolicy, negotiate, type VersionPolicy } from "../versioning.js";
import { associatedData, x3dhInitiator, x3dhResponder } from "../x3dh.js";
import { decodeContactCode, encodeContactCode } from "../contact.js";
import { decodePayload, encodePayload } from "../payload.js";
import { chooseSession, decideFailure, selectCopy } from "../multidevice.js";

export const IMPLEMENTATION = "parley-typescript 0.1.0";

/** A random source that hands out the request's private keys, in order. */
export class GivenKeys implements RandomSource {
  #keys: Uint8Array[];
  constructor(...keys: Uint8Array[]) {
    this.#keys = keys;
  }
  randomBytes(n: number): Uint8Array {
    const k = this.#keys.shift();
    if (k === undefined || k.length !== n) throw new InvalidArgument(`the request gives no ${n}-byte private key for this draw`);
    return k;
  }
}

function policyOf(p: d.VersionPolicy | undefined): VersionPolicy {
  if (p === undefined || p.reads.length === 0) return makePolicy([1], 1);
  return makePolicy(p.reads, p.writes);
}

function checkProfile(profile: number): void {
  if (profile !== PROFILE_ID) throw new UnsupportedProfile(`profile ${profile} is not implemented`);
}

function need32(b: Uint8Array, what: string): Uint8Array {
  if (b.length !== 32) throw new InvalidArgument(`${what} must be 32 bytes`);
  return b;
}

class InstallationRecord {
  readonly seenNoBundle = new Set<string>();
  readonly replayCache: NoBundleReplayCache = {
    has: (ek) => this.seenNoBundle.has(toHex(ek)),
    add: (ek) => void this.seenNoBundle.add(toHex(ek)),
  };
  constructor(readonly installation: Installation) {}
}

type Init<T extends Parameters<typeof create>[0]> = MessageInitShape<T>;

/** The driver's state: installations and sessions by opaque handle. */
export class DriverCore {
  #next = 1n;
  #installations = new Map<bigint, InstallationRecord>();
  #sessions = new Map<bigint, Session>();

  #handle(): bigint {
    return this.#next++;
  }

  #installation(h: bigint): InstallationRecord {
    const r = this.#installations.get(h);
    if (r === undefined) throw new InvalidArgument(`no installation with handle ${h}`);
    return r;
  }

  #session(h: bigint): Session {
    const s = this.#sessions.get(h);
    if (s === undefined) throw new InvalidArgument(`no session with handle ${h}`);
    return s;
  }

  getCapabilities(_: d.GetCapabilitiesRequest): Init<typeof d.GetCapabilitiesResponseSchema> {
    return { implementation: IMPLEMENTATION, profiles: [PROFILE_ID], protocolVersions: [1, 2] };
  }

  kdf(r: d.KdfRequest): Init<typeof d.KdfResponseSchema> {
    checkProfile(r.profile);
    switch (r.function) {
      case d.KdfFunction.ROOT:
        return { outputs: kdfRk(need32(r.key, "RK"), need32(r.input, "DH output")) };
      case d.KdfFunction.CHAIN:
        return { outputs: kdfCk(need32(r.key, "CK")) };
      case d.KdfFunction.MESSAGE_KEYS: {
        const k = messageKeys(need32(r.key, "MK"));
        return { outputs: [k.encKey.slice(), k.macKey.slice(), k.iv.slice()] };
      }
      case d.KdfFunction.X3DH:
        if (r.input.length !== 96 && r.input.length !== 128) throw new InvalidArgument("X3DH input is 3 or 4 DH outputs");
        return { outputs: [x3dhKdf(r.input)] };
      case d.KdfFunction.NO_BUNDLE:
        if (r.input.length !== 64) throw new InvalidArgument("no-bundle input is 2 DH outputs");
        return { outputs: [noBundleKdf(r.input)] };
      default:
        throw new InvalidArgument("unknown KDF function");
    }
  }

  x3dhAgreement(r: d.X3dhAgreementRequest): Init<typeof d.X3dhAgreementResponseSchema> {
    checkProfile(r.profile);
    if (r.identity === undefined) throw new InvalidArgument("identity is required");
    const me = IdentityKeyPair.fromPrivateKeys(r.identity.signingPrivateKey, r.identity.dhPrivateKey, r.profile);
    const peer = PublicIdentity.fromBytes(r.peerIdentity, r.profile);
    if (r.installationId.length !== 16 || r.peerInstallationId.length !== 16) {
      throw new InvalidArgument("installation ids are 16 bytes");
    }
    if (r.role === d.X3dhRole.INITIATOR) {
      const out = x3dhInitiator({
        identityDhPrivate: me.dhPrivateKey,
        ephemeralPrivate: need32(r.ephemeralPrivateKey, "ephemeral private key"),
        peerIdentityDh: peer.dhKey,
        peerSignedPreKey: r.peerSignedPrekey,
        peerOneTimePreKey: r.peerOneTimePrekey.length > 0 ? r.peerOneTimePrekey : undefined,
      });
      return {
        dhOutputs: out.dhOutputs,
        sharedKey: out.sharedKey,
        associatedData: associatedData(me.publicIdentity, r.installationId, peer, r.peerInstallationId),
      };
    }
    if (r.role === d.X3dhRole.RESPONDER) {
      const out = x3dhResponder({
        identityDhPrivate: me.dhPrivateKey,
        signedPreKeyPrivate: need32(r.signedPrekeyPrivateKey, "signed prekey private key"),
        oneTimePreKeyPrivate: r.oneTimePrekeyPrivateKey.length > 0 ? r.oneTimePrekeyPrivateKey : undefined,
        peerIdentityDh: peer.dhKey,
        peerEphemeralKey: r.peerEphemeralKey,
      });
      return {
        dhOutputs: out.dhOutputs,
        sharedKey: out.sharedKey,
        associatedData: associatedData(peer, r.peerInstallationId, me.publicIdentity, r.installationId),
      };
    }
    throw new InvalidArgument("unknown X3DH role");
  }

  negotiate(r: d.NegotiateRequest): Init<typeof d.NegotiateResponseSchema> {
    return { version: negotiate(policyOf(r.policy), r.peerReads) };
  }

  createInstallation(r: d.CreateInstallationRequest): Init<typeof d.CreateInstallationResponseSchema> {
    checkProfile(r.profile);
    if (r.identity === undefined) throw new InvalidArgument("identity is required");
    const identity = IdentityKeyPair.fromPrivateKeys(r.identity.signingPrivateKey, r.identity.dhPrivateKey, r.profile);
    const inst = new Installation({
      identity,
      installationId: r.installationId,
      signedPreKeys: r.signedPrekeys.map((k) => signedPreKey(k.id, k.privateKey, k.createdAt, k.supersededAt)),
      oneTimePreKeys: r.oneTimePrekeys.map((k) => oneTimePreKey(k.id, k.privateKey)),
      policy: policyOf(r.policy),
    });
    const h = this.#handle();
    this.#installations.set(h, new InstallationRecord(inst));
    return { installationHandle: h, identity: identity.publicIdentity.toBytes() };
  }

  exportInstallation(r: d.ExportInstallationRequest): Init<typeof d.ExportInstallationResponseSchema> {
    return { state: saveInstallation(this.#installation(r.installationHandle).installation) };
  }

  createBundle(r: d.CreateBundleRequest): Init<typeof d.CreateBundleResponseSchema> {
    const insts = r.installationHandles.map((h) => this.#installation(h).installation);
    return { bundle: createBundle(insts, r.now, r.oneTimePrekeyLimit) };
  }

  verifyBundle(r: d.VerifyBundleRequest): Init<typeof d.VerifyBundleResponseSchema> {
    const b = verifyBundle(r.bundle, r.now, r.profile === 0 ? PROFILE_ID : r.profile);
    return {
      profile: b.profile,
      identity: b.identity.toBytes(),
      timestamp: b.timestamp,
      entries: b.entries.map((e) => ({
        installationId: e.installationId,
        signedPrekeyId: e.signedPreKeyId,
        signedPrekey: e.signedPreKey,
        protocolVersions: [...e.protocolVersions],
        oneTimePrekeys: e.oneTimePreKeys.map((k) => ({ id: k.id, publicKey: k.publicKey })),
      })),
      signedBytes: b.signedBytes,
    };
  }

  initiate(r: d.InitiateRequest): Init<typeof d.InitiateResponseSchema> {
    const inst = this.#installation(r.installationHandle).installation;
    const bundle = verifyBundle(r.bundle, r.now, PROFILE_ID);
    const rng = new GivenKeys(need32(r.ephemeralPrivateKey, "ephemeral private key"), need32(r.ratchetPrivateKey, "ratchet private key"));
    const session = Session.initiate(inst, bundle, r.remoteInstallationId, rng, r.oneTimePrekeyId);
    const h = this.#handle();
    this.#sessions.set(h, session);
    return { sessionHandle: h };
  }

  respond(r: d.RespondRequest): Init<typeof d.RespondResponseSchema> {
    const inst = this.#installation(r.installationHandle).installation;
    if (r.remoteInstallationId.length !== 16) throw new MalformedMessage("the sender installation id must be 16 bytes");
    const { session, plaintext } = Session.respond(inst, r.message, r.remoteInstallationId, new GivenKeys(r.ratchetPrivateKey));
    const h = this.#handle();
    this.#sessions.set(h, session);
    return { sessionHandle: h, plaintext };
  }

  encrypt(r: d.EncryptRequest): Init<typeof d.EncryptResponseSchema> {
    return { message: this.#session(r.sessionHandle).encrypt(r.plaintext) };
  }

  decrypt(r: d.DecryptRequest): Init<typeof d.DecryptResponseSchema> {
    const rng = r.ratchetPrivateKey.length > 0 ? new GivenKeys(r.ratchetPrivateKey) : new GivenKeys();
    return { plaintext: this.#session(r.sessionHandle).decrypt(r.message, rng) };
  }

  exportSession(r: d.ExportSessionRequest): Init<typeof d.ExportSessionResponseSchema> {
    return { state: saveSession(this.#session(r.sessionHandle)) };
  }

  importSession(r: d.ImportSessionRequest): Init<typeof d.ImportSessionResponseSchema> {
    const s = loadSession(r.state);
    const h = this.#handle();
    this.#sessions.set(h, s);
    return { sessionHandle: h };
  }

  sealNoBundle(r: d.SealNoBundleRequest): Init<typeof d.SealNoBundleResponseSchema> {
    const inst = this.#installation(r.installationHandle).installation;
    const recipient = PublicIdentity.fromBytes(r.recipientIdentity);
    const message = sealNoBundle({
      sender: inst.identity,
      senderInstallationId: inst.installationId,
      recipient,
      plaintext: r.plaintext,
      version: r.version === 0 ? inst.policy.writes : r.version,
      rng: new GivenKeys(need32(r.ephemeralPrivateKey, "ephemeral private key")),
    });
    return { message };
  }

  openNoBundle(r: d.OpenNoBundleRequest): Init<typeof d.OpenNoBundleResponseSchema> {
    const rec = this.#installation(r.installationHandle);
    const out = openNoBundle({
      recipient: rec.installation.identity,
      message: r.message,
      senderInstallationId: r.senderInstallationId,
      policy: rec.installation.policy,
      replayCache: rec.replayCache,
    });
    return {
      plaintext: out.plaintext,
      senderIdentity: out.senderIdentity.toBytes(),
      ephemeralKey: out.ephemeralKey,
      forwardSecret: false,
    };
  }

  decodeRatchetMessage(r: d.DecodeRatchetMessageRequest): Init<typeof d.DecodeRatchetMessageResponseSchema> {
    const m = decodeRatchetMessage(r.message, policyOf(r.policy));
    const out: Init<typeof d.DecodeRatchetMessageResponseSchema> = {
      version: m.version,
      ratchetKey: m.ratchetKey,
      previousChainLength: m.previousChainLength,
      messageNumber: m.messageNumber,
      ciphertext: m.ciphertext,
      mac: m.mac,
      hasX3dhHeader: m.x3dh !== undefined,
    };
    if (m.x3dh !== undefined) {
      const id = m.x3dh.initiatorIdentity;
      out.initiatorIdentity = concat(id.signingKey, id.dhKey, id.bindingSignature);
      out.ephemeralKey = m.x3dh.ephemeralKey;
      out.signedPrekeyId = m.x3dh.signedPreKeyId;
      if (m.x3dh.oneTimePreKeyId !== undefined) out.oneTimePrekeyId = m.x3dh.oneTimePreKeyId;
    }
    return out;
  }

  decodeNoBundleMessage(r: d.DecodeNoBundleMessageRequest): Init<typeof d.DecodeNoBundleMessageResponseSchema> {
    const m = decodeNoBundleMessage(r.message, policyOf(r.policy));
    const id = m.senderIdentity;
    return {
      version: m.version,
      senderIdentity: concat(id.signingKey, id.dhKey, id.bindingSignature),
      ephemeralKey: m.ephemeralKey,
      recipientDhKey: m.recipientDhKey,
      ciphertext: m.ciphertext,
      mac: m.mac,
    };
  }

  encodeEnvelope(r: d.EncodeEnvelopeRequest): Init<typeof d.EncodeEnvelopeResponseSchema> {
    const copies = r.copies.map((c) => {
      let kind: CopyKind;
      if (c.kind === d.MessageKind.RATCHET) kind = "ratchet";
      else if (c.kind === d.MessageKind.NO_BUNDLE) kind = "no_bundle";
      else throw new InvalidArgument("unknown copy kind");
      return { recipientInstallationId: c.recipientInstallationId, kind, body: c.body };
    });
    return {
      envelope: encodeEnvelope({
        version: r.version,
        senderInstallationId: r.senderInstallationId,
        copies,
        senderBundle: r.senderBundle.length > 0 ? r.senderBundle : undefined,
      }),
    };
  }

  decodeEnvelope(r: d.DecodeEnvelopeRequest): Init<typeof d.DecodeEnvelopeResponseSchema> {
    const e = decodeEnvelope(r.envelope);
    return {
      version: e.version,
      senderInstallationId: e.senderInstallationId,
      copies: e.copies.map((c) => ({
        recipientInstallationId: c.recipientInstallationId,
        kind: c.kind === "ratchet" ? d.MessageKind.RATCHET : d.MessageKind.NO_BUNDLE,
        body: c.body,
      })),
      senderBundle: e.senderBundle ?? new Uint8Array(0),
    };
  }

  encodeContactCode(r: d.EncodeContactCodeRequest): Init<typeof d.EncodeContactCodeResponseSchema> {
    return encodeContactCode(r.bundle);
  }

  decodeContactCode(r: d.DecodeContactCodeRequest): Init<typeof d.DecodeContactCodeResponseSchema> {
    return { bundle: decodeContactCode(r.text) };
  }

  encodePayload(r: d.EncodePayloadRequest): Init<typeof d.EncodePayloadResponseSchema> {
    return { plaintext: encodePayload({ kind: r.kind, messageId: r.messageId, peer: r.peer, body: r.body }) };
  }

  decodePayload(r: d.DecodePayloadRequest): Init<typeof d.DecodePayloadResponseSchema> {
    return decodePayload(r.plaintext);
  }

  chooseSession(r: d.ChooseSessionRequest): Init<typeof d.ChooseSessionResponseSchema> {
    const current = r.current === undefined ? undefined : { sessionId: r.current.sessionId, initiated: r.current.initiated, pending: r.current.pending };
    return { chosenSessionId: chooseSession(current, r.acceptedSessionId, r.acceptedReset) };
  }

  selectCopy(r: d.SelectCopyRequest): Init<typeof d.SelectCopyResponseSchema> {
    const c = selectCopy(r.envelope, r.installationId);
    const selection = {
      ADDRESSED: d.CopySelection.ADDRESSED,
      NO_BUNDLE: d.CopySelection.NO_BUNDLE,
      NOT_ADDRESSED: d.CopySelection.NOT_ADDRESSED,
      OWN_ENVELOPE: d.CopySelection.OWN_ENVELOPE,
    }[c.selection];
    return "index" in c ? { selection, index: c.index } : { selection };
  }

  decideFailure(r: d.DecideFailureRequest): Init<typeof d.DecideFailureResponseSchema> {
    const chosen = r.chosen === undefined ? undefined : { sessionId: r.chosen.sessionId, initiated: r.chosen.initiated, pending: r.chosen.pending };
    const { action, reuseChosen } = decideFailure(r.reason, chosen);
    return { action: { RESET: d.FailureAction.RESET, HELLO: d.FailureAction.HELLO, EVENT_ONLY: d.FailureAction.EVENT_ONLY }[action], reuseChosen };
  }
}
