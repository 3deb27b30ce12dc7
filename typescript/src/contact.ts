/** Contact codes (spec/bundle.md, CONTACT-001..003): a bundle as text people can copy, paste or scan. */
import { toBinary } from "@bufbuild/protobuf";
import { concat } from "./bytes.js";
import { checkBundleStructure } from "./bundle.js";
import { checkSize, parse } from "./codec.js";
import { InvalidContactCode, ParleyError } from "./errors.js";
import { BundleSchema } from "./gen/parley/v1/wire_pb.js";
import { sha256Hash } from "./primitives.js";

export const CONTACT_PREFIX = "parley1:";
export const CONTACT_FORMAT_VERSION = 0x01;
export const CONTACT_MAX_TEXT = 16384;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const WHITE_SPACE = new Set([" ", "\t", "\n", "\v", "\f", "\r"]);

function checksum(versionAndBundle: Uint8Array): Uint8Array {
  return sha256Hash(versionAndBundle).slice(0, 4);
}

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The text form (lower case) and the QR text (upper case) of an encoded bundle (CONTACT-001, CONTACT-002, CONTACT-004). */
export function encodeContactCode(bundle: Uint8Array): { text: string; qrText: string } {
  const body = concat(Uint8Array.of(CONTACT_FORMAT_VERSION), bundle);
  const text = CONTACT_PREFIX + base32(concat(body, checksum(body)));
  return { text, qrText: text.toUpperCase() };
}

/**
 * The bundle of a contact code text, in the order of CONTACT-003; every fault
 * is INVALID_CONTACT_CODE. The bundle is not verified: verify it as any bundle.
 * Returns it re-encoded canonically (WIRE-004).
 */
export function decodeContactCode(input: string): Uint8Array {
  let text = "";
  for (const ch of input) {
    if (WHITE_SPACE.has(ch)) continue;
    const c = ch.charCodeAt(0);
    text += ch.length === 1 && c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : ch;
  }
  if (text.length > CONTACT_MAX_TEXT) throw new InvalidContactCode(`a contact code is at most ${CONTACT_MAX_TEXT} characters`);
  if (!text.startsWith(CONTACT_PREFIX)) throw new InvalidContactCode("a contact code starts with parley1:");
  const chars = text.slice(CONTACT_PREFIX.length);
  for (const ch of chars) if (!ALPHABET.includes(ch)) throw new InvalidContactCode("a character outside the base32 alphabet");
  if ([1, 3, 6].includes(chars.length % 8)) throw new InvalidContactCode("an impossible base32 length");
  const bytes = new Uint8Array(Math.floor((chars.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const ch of chars) {
    value = ((value << 5) | ALPHABET.indexOf(ch)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes[o++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  if (bytes.length < 6) throw new InvalidContactCode("a contact code holds at least 6 bytes");
  const body = bytes.subarray(0, bytes.length - 4);
  const sum = checksum(body);
  for (let i = 0; i < 4; i++) if (sum[i] !== bytes[bytes.length - 4 + i]) throw new InvalidContactCode("the checksum does not match");
  if (body[0] !== CONTACT_FORMAT_VERSION) throw new InvalidContactCode(`contact code format version ${body[0]} is not 1`);
  const bundleBytes = body.subarray(1);
  try {
    checkSize(bundleBytes, "bundle");
    const b = parse(BundleSchema, bundleBytes, "bundle");
    checkBundleStructure(b);
    return toBinary(BundleSchema, b, { writeUnknownFields: false });
  } catch (e) {
    if (e instanceof ParleyError) throw new InvalidContactCode(`the bundle does not decode (${e.code})`);
    throw e;
  }
}
