/**
 * The wire codec (spec/wire-format.md): decodes parley.v1 messages with the
 * generated protobuf-es code, checks every length before a field is used
 * (WIRE-001) and maps them to plain domain values. MACs are computed over the
 * bytes as received, never over a re-encoding (WIRE-003).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import {
  BundleSchema,
  EnvelopeSchema,
  IdentityKeySchema,
  NoBundleHeaderSchema,
  NoBundleMessageSchema,
  RatchetHeaderSchema,
  RatchetMessageSchema,
  X3DHHeaderSchema,
} from "./gen/parley/v1/wire_pb.js";
import type { IdentityKey } from "./gen/parley/v1/wire_pb.js";
import { InvalidKey, MalformedMessage, MessageTooLarge, UnsupportedVersion } from "./errors.js";
import { INSTALLATION_ID_LEN, KEY_LEN, MAC_LEN, MAX_CIPHERTEXT, MAX_ENCODED, SIGNATURE_LEN } from "./profile.js";
import type { VersionPolicy } from "./versioning.js";
import { withDeclaredWireTypes } from "./wiretype.js";

/** Parse bytes as a message of `schema`, or fail with MALFORMED_MESSAGE. */
export function parse<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array, what: string): MessageShape<Desc> {
  try {
    return fromBinary(schema, withDeclaredWireTypes(schema, bytes));
  } catch {
    throw new MalformedMessage(`${what} does not decode`);
  }
}

export function checkSize(bytes: Uint8Array, what: string): void {
  if (bytes.length > MAX_ENCODED) throw new MessageTooLarge(`${what} of ${bytes.length} bytes exceeds ${MAX_ENCODED}`);
}

export function checkKey(key: Uint8Array, what: string): Uint8Array {
  if (key.length !== KEY_LEN) throw new InvalidKey(`${what} must be 32 bytes, got ${key.length}`);
  return key;
}

export function checkInstallationId(id: Uint8Array, what: string): Uint8Array {
  if (id.length !== INSTALLATION_ID_LEN) throw new MalformedMessage(`${what} must be 16 bytes, got ${id.length}`);
  return id;
}

export function checkMac(mac: Uint8Array): Uint8Array {
  if (mac.length !== MAC_LEN) throw new MalformedMessage(`MAC must be 32 bytes, got ${mac.length}`);
  return mac;
}

export function checkCiphertext(ct: Uint8Array): Uint8Array {
  if (ct.length > MAX_CIPHERTEXT) throw new MessageTooLarge(`ciphertext of ${ct.length} bytes exceeds ${MAX_CIPHERTEXT}`);
  if (ct.length === 0 || ct.length % 16 !== 0) {
    throw new MalformedMessage(`ciphertext must be a non-zero multiple of 16 bytes, got ${ct.length}`);
  }
  return ct;
}

export function checkVersion(version: number, policy: VersionPolicy, what: string): number {
  if (!policy.reads.includes(version)) throw new UnsupportedVersion(`${what} version ${version} is not read`);
  return version;
}

/** The 32 + 32 + 64 bytes of a public identity, lengths checked, binding not yet verified. */
export interface IdentityFields {
  signingKey: Uint8Array;
  dhKey: Uint8Array;
  bindingSignature: Uint8Array;
}

export function identityFields(msg: IdentityKey | undefined, what: string): IdentityFields {
  if (msg === undefined) throw new MalformedMessage(`${what} is missing`);
  checkKey(msg.signingKey, `${what} signing key`);
  checkKey(msg.dhKey, `${what} DH key`);
  if (msg.bindingSignature.length !== SIGNATURE_LEN) {
    throw new MalformedMessage(`${what} binding signature must be 64 bytes, got ${msg.bindingSignature.length}`);
  }
  return { signingKey: msg.signingKey, dhKey: msg.dhKey, bindingSignature: msg.bindingSignature };
}

export function encodeIdentityKey(id: IdentityFields): IdentityKey {
  return create(IdentityKeySchema, {
    signingKey: id.signingKey,
    dhKey: id.dhKey,
    bindingSignature: id.bindingSignature,
  });
}

export interface DecodedX3dhHeader {
  initiatorIdentity: IdentityFields;
  ephemeralKey: Uint8Array;
  signedPreKeyId: number;
  oneTimePreKeyId: number | undefined;
}

export interface DecodedRatchetMessage {
  /** RatchetMessage.header exactly as received. */
  headerBytes: Uint8Array;
  version: number;
  ratchetKey: Uint8Array;
  previousChainLength: number;
  messageNumber: number;
  ciphertext: Uint8Array;
  mac: Uint8Array;
  /** RatchetMessage.x3dh_header exactly as received; empty when absent. */
  x3dhBytes: Uint8Array;
  x3dh: DecodedX3dhHeader | undefined;
}

export function decodeX3dhHeader(bytes: Uint8Array): DecodedX3dhHeader {
  const h = parse(X3DHHeaderSchema, bytes, "X3DH header");
  const initiatorIdentity = identityFields(h.initiatorIdentity, "initiator identity");
  checkKey(h.ephemeralKey, "ephemeral key");
  return {
    initiatorIdentity,
    ephemeralKey: h.ephemeralKey,
    signedPreKeyId: h.signedPrekeyId,
    oneTimePreKeyId: h.oneTimePrekeyId,
  };
}

/** Decode a RatchetMessage (WIRE-001, WIRE-002, VERSION-003). */
export function decodeRatchetMessage(bytes: Uint8Array, policy: VersionPolicy): DecodedRatchetMessage {
  checkSize(bytes, "ratchet message");
  const m = parse(RatchetMessageSchema, bytes, "ratchet message");
  if (m.header.length === 0) throw new MalformedMessage("ratchet message has no header");
  const h = parse(RatchetHeaderSchema, m.header, "ratchet header");
  checkVersion(h.version, policy, "ratchet message");
  checkKey(h.ratchetKey, "ratchet key");
  checkCiphertext(m.ciphertext);
  checkMac(m.mac);
  const x3dh = m.x3dhHeader.length > 0 ? decodeX3dhHeader(m.x3dhHeader) : undefined;
  return {
    headerBytes: m.header,
    version: h.version,
    ratchetKey: h.ratchetKey,
    previousChainLength: h.previousChainLength,
    messageNumber: h.messageNumber,
    ciphertext: m.ciphertext,
    mac: m.mac,
    x3dhBytes: m.x3dhHeader,
    x3dh,
  };
}

export function encodeRatchetHeader(version: number, ratchetKey: Uint8Array, pn: number, n: number): Uint8Array {
  return toBinary(
    RatchetHeaderSchema,
    create(RatchetHeaderSchema, { version, ratchetKey, previousChainLength: pn, messageNumber: n }),
  );
}

export function encodeX3dhHeader(
  identity: IdentityFields,
  ephemeralKey: Uint8Array,
  signedPreKeyId: number,
  oneTimePreKeyId: number | undefined,
): Uint8Array {
  const init: Parameters<typeof create<typeof X3DHHeaderSchema>>[1] = {
    initiatorIdentity: encodeIdentityKey(identity),
    ephemeralKey,
    signedPrekeyId: signedPreKeyId,
  };
  if (oneTimePreKeyId !== undefined) init.oneTimePrekeyId = oneTimePreKeyId;
  return toBinary(X3DHHeaderSchema, create(X3DHHeaderSchema, init));
}

export function encodeRatchetMessage(header: Uint8Array, ciphertext: Uint8Array, mac: Uint8Array, x3dh: Uint8Array): Uint8Array {
  return toBinary(RatchetMessageSchema, create(RatchetMessageSchema, { header, ciphertext, mac, x3dhHeader: x3dh }));
}

export interface DecodedNoBundleMessage {
  headerBytes: Uint8Array;
  version: number;
  senderIdentity: IdentityFields;
  ephemeralKey: Uint8Array;
  recipientDhKey: Uint8Array;
  ciphertext: Uint8Array;
  mac: Uint8Array;
}

/** Decode a NoBundleMessage (WIRE-001, NOBUNDLE-011). */
export function decodeNoBundleMessage(bytes: Uint8Array, policy: VersionPolicy): DecodedNoBundleMessage {
  checkSize(bytes, "no-bundle message");
  const m = parse(NoBundleMessageSchema, bytes, "no-bundle message");
  if (m.header.length === 0) throw new MalformedMessage("no-bundle message has no header");
  const h = parse(NoBundleHeaderSchema, m.header, "no-bundle header");
  checkVersion(h.version, policy, "no-bundle message");
  const senderIdentity = identityFields(h.senderIdentity, "sender identity");
  checkKey(h.ephemeralKey, "ephemeral key");
  checkKey(h.recipientDhKey, "recipient DH key");
  checkCiphertext(m.ciphertext);
  checkMac(m.mac);
  return {
    headerBytes: m.header,
    version: h.version,
    senderIdentity,
    ephemeralKey: h.ephemeralKey,
    recipientDhKey: h.recipientDhKey,
    ciphertext: m.ciphertext,
    mac: m.mac,
  };
}

export function encodeNoBundleHeader(
  version: number,
  sender: IdentityFields,
  ephemeralKey: Uint8Array,
  recipientDhKey: Uint8Array,
): Uint8Array {
  return toBinary(
    NoBundleHeaderSchema,
    create(NoBundleHeaderSchema, { version, senderIdentity: encodeIdentityKey(sender), ephemeralKey, recipientDhKey }),
  );
}

export function encodeNoBundleMessage(header: Uint8Array, ciphertext: Uint8Array, mac: Uint8Array): Uint8Array {
  return toBinary(NoBundleMessageSchema, create(NoBundleMessageSchema, { header, ciphertext, mac }));
}

export { BundleSchema, EnvelopeSchema };
