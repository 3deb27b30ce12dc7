/** Envelopes (spec/wire-format.md, "Envelopes", WIRE-040, WIRE-041, VERSION-001). */
import { create, toBinary } from "@bufbuild/protobuf";
import { checkInstallationId, checkSize, parse } from "./codec.js";
import { InvalidArgument, MalformedMessage, UnsupportedVersion } from "./errors.js";
import {
  BundleSchema,
  EnvelopeSchema,
  InstallationMessageSchema,
  NoBundleMessageSchema,
  RatchetMessageSchema,
} from "./gen/parley/v1/wire_pb.js";
import type { InstallationMessage } from "./gen/parley/v1/wire_pb.js";
import { checkBundleStructure } from "./bundle.js";
import { ENVELOPE_VERSION, INSTALLATION_ID_LEN } from "./profile.js";

export type CopyKind = "ratchet" | "no_bundle";

export interface EnvelopeCopy {
  /** 16 bytes for a ratchet copy; empty for a no-bundle copy. */
  recipientInstallationId: Uint8Array;
  kind: CopyKind;
  /** The encoded RatchetMessage or NoBundleMessage. */
  body: Uint8Array;
}

export interface EnvelopeParts {
  version: number;
  senderInstallationId: Uint8Array;
  copies: EnvelopeCopy[];
  /** The encoded Bundle, or undefined. */
  senderBundle: Uint8Array | undefined;
}

function checkCopyAddress(c: { recipientInstallationId: Uint8Array; kind: CopyKind }, fail: (m: string) => Error): void {
  if (c.kind === "ratchet" && c.recipientInstallationId.length !== INSTALLATION_ID_LEN) {
    throw fail("a ratchet copy is addressed to a 16-byte installation id");
  }
  if (c.kind === "no_bundle" && c.recipientInstallationId.length !== 0) throw fail("a no-bundle copy is not addressed");
}

/** Encode an envelope from its parts; the copies' bodies are embedded as their messages. */
export function encodeEnvelope(parts: EnvelopeParts): Uint8Array {
  if (parts.senderInstallationId.length !== INSTALLATION_ID_LEN) throw new InvalidArgument("sender installation id is 16 bytes");
  const messages: InstallationMessage[] = parts.copies.map((c) => {
    checkCopyAddress(c, (m) => new InvalidArgument(m));
    const body =
      c.kind === "ratchet"
        ? { case: "ratchet" as const, value: parse(RatchetMessageSchema, c.body, "ratchet copy") }
        : { case: "noBundle" as const, value: parse(NoBundleMessageSchema, c.body, "no-bundle copy") };
    return create(InstallationMessageSchema, { recipientInstallationId: c.recipientInstallationId, body });
  });
  const env = create(EnvelopeSchema, {
    version: parts.version, // the caller's: the driver encodes what it is given (VERSION-004 says senders write 1)
    senderInstallationId: parts.senderInstallationId,
    messages,
  });
  if (parts.senderBundle !== undefined && parts.senderBundle.length > 0) {
    env.senderBundle = parse(BundleSchema, parts.senderBundle, "sender bundle");
  }
  return toBinary(EnvelopeSchema, env);
}

/** Decode an envelope (WIRE-002, VERSION-003, WIRE-040, WIRE-041). */
/**
 * Decode an envelope in the order of WIRE-007: the format version (1,
 * VERSION-004), each copy's body and address (WIRE-041), the sender id, then
 * the attached bundle's structure (BUNDLE-011 steps 1 to 3). The copies' bodies
 * are not decoded further; each is handed on as the canonical encoding
 * (WIRE-004) of the decoded sub-message, without unknown fields.
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeParts {
  checkSize(bytes, "envelope");
  const env = parse(EnvelopeSchema, bytes, "envelope");
  if (env.version !== ENVELOPE_VERSION) throw new UnsupportedVersion(`envelope format version ${env.version} is not 1`);
  const canonical = { writeUnknownFields: false };
  const copies: EnvelopeCopy[] = env.messages.map((m) => {
    if (m.body.case === undefined) throw new MalformedMessage("a copy without a body");
    const kind: CopyKind = m.body.case === "ratchet" ? "ratchet" : "no_bundle";
    checkCopyAddress({ recipientInstallationId: m.recipientInstallationId, kind }, (x) => new MalformedMessage(x));
    const body =
      m.body.case === "ratchet"
        ? toBinary(RatchetMessageSchema, m.body.value, canonical)
        : toBinary(NoBundleMessageSchema, m.body.value, canonical);
    return { recipientInstallationId: m.recipientInstallationId, kind, body };
  });
  checkInstallationId(env.senderInstallationId, "sender installation id");
  if (env.senderBundle !== undefined) checkBundleStructure(env.senderBundle);
  return {
    version: env.version,
    senderInstallationId: env.senderInstallationId,
    copies,
    senderBundle: env.senderBundle === undefined ? undefined : toBinary(BundleSchema, env.senderBundle, canonical),
  };
}
