/**
 * Profile 1 primitives (spec/profile.md, "Primitives"): the only module that
 * calls the cryptographic libraries. Uint8Array in, Uint8Array out; every
 * failure raises a typed error, none returns a sentinel (ERR-001).
 */
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { bytesToNumberLE } from "@noble/curves/utils.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { extract, expand } from "@noble/hashes/hkdf.js";
import { cbc } from "@noble/ciphers/aes.js";
import { chacha20 } from "@noble/ciphers/chacha.js";
import { ascii, concat } from "./bytes.js";
import {
  InvalidArgument,
  InvalidKey,
  InvalidMac,
  InvalidPadding,
  InvalidSignature,
  MalformedMessage,
  ZeroSharedSecret,
} from "./errors.js";
import { KEY_LEN, MAC_LEN, SIGNATURE_LEN } from "./profile.js";

/** A source of random bytes, passed in by the application (SESSION-030). */
export interface RandomSource {
  randomBytes(n: number): Uint8Array;
}

/** The platform CSPRNG (WebCrypto's getRandomValues: browsers and Node alike). */
export const systemRandom: RandomSource = {
  randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 65536) globalThis.crypto.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
    return out;
  },
};

const DRNG_LABEL = ascii("Parley deterministic random v1");

/**
 * The deterministic random stream of CONF-002: the ChaCha20 keystream under
 * SHA-256("Parley deterministic random v1" || seed), zero nonce, counter 0.
 * For tests and vectors only, never for production.
 */
export class DeterministicRandom implements RandomSource {
  readonly #key: Uint8Array;
  #buffer = new Uint8Array(0);
  #offset = 0;
  #block = 0;
  constructor(seed: Uint8Array) {
    this.#key = sha256(concat(DRNG_LABEL, seed));
  }
  randomBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.#offset === this.#buffer.length) {
        const blocks = 16;
        this.#buffer = chacha20(this.#key, new Uint8Array(12), new Uint8Array(64 * blocks), undefined, this.#block);
        this.#block += blocks;
        this.#offset = 0;
      }
      const take = Math.min(n - filled, this.#buffer.length - this.#offset);
      out.set(this.#buffer.subarray(this.#offset, this.#offset + take), filled);
      this.#offset += take;
      filled += take;
    }
    return out;
  }
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LEN) {
    throw new InvalidKey(`${what} must be 32 bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`);
  }
}

function checkPrivate(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LEN) {
    throw new InvalidArgument(`${what} must be 32 bytes`);
  }
}

/** X25519 public key of a private key (RFC 7748). */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  checkPrivate(privateKey, "X25519 private key");
  return x25519.getPublicKey(privateKey);
}

/**
 * X25519(private, public) (PROFILE-010): any 32-byte public key is accepted;
 * an all-zero output is ZERO_SHARED_SECRET, never returned.
 */
export function x25519Dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  checkPrivate(privateKey, "X25519 private key");
  checkKey(publicKey, "X25519 public key");
  let out: Uint8Array;
  try {
    out = x25519.scalarMult(privateKey, publicKey);
  } catch {
    // noble refuses an all-zero output; no other failure is possible with 32-byte inputs.
    throw new ZeroSharedSecret("X25519 output is all zeros");
  }
  let acc = 0;
  for (let i = 0; i < out.length; i++) acc |= out[i]!;
  if (acc === 0) throw new ZeroSharedSecret("X25519 output is all zeros");
  return out;
}

/** Ed25519 public key of a 32-byte seed (RFC 8032). */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  checkPrivate(seed, "Ed25519 private key");
  return ed25519.getPublicKey(seed);
}

/** Pure Ed25519 signature, 64 bytes. */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  checkPrivate(seed, "Ed25519 private key");
  return ed25519.sign(message, seed);
}

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = 2n ** 255n - 19n;

function le(hex: string): bigint {
  return bytesToNumberLE(Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16))));
}

/** The y values of the eight points of small order (PROFILE-013): 1, p - 1, 0, y8a, y8b. */
const SMALL_ORDER_Y = new Set<bigint>([
  1n,
  P - 1n,
  0n,
  le("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
  le("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
]);

/** The low 255 bits of an encoding (y without the sign bit). */
function encodedY(b: Uint8Array): bigint {
  const c = b.slice(0, 32);
  c[31]! &= 0x7f;
  return bytesToNumberLE(c);
}

function isCanonicalEncoding(b: Uint8Array): boolean {
  return encodedY(b) < P;
}

function isSmallOrderEncoding(b: Uint8Array): boolean {
  return SMALL_ORDER_Y.has(encodedY(b) % P);
}

/** Decode a public key with PROFILE-013's rules: canonical, on the curve, not of small order. */
function strictPoint(publicKey: Uint8Array): InstanceType<typeof Point> | undefined {
  if (publicKey.length !== KEY_LEN || !isCanonicalEncoding(publicKey) || isSmallOrderEncoding(publicKey)) return undefined;
  try {
    return Point.fromBytes(publicKey, false);
  } catch {
    return undefined;
  }
}

/**
 * Strict Ed25519 verification (PROFILE-013): RFC 8032 section 5.1.7 with the
 * cofactorless equation encode([S]B - [k]A) == R, rejecting as libsodium's
 * crypto_sign_verify_detached does S >= L, a non-canonical or small-order R,
 * and a public key that is non-canonical, of small order or not a point.
 * Raises InvalidSignature; a signature of another length than 64 bytes is
 * MALFORMED_MESSAGE, a public key of another length INVALID_KEY.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LEN) {
    throw new MalformedMessage("signature must be 64 bytes");
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_LEN) {
    throw new InvalidKey("public key must be 32 bytes");
  }
  const r = signature.subarray(0, 32);
  const s = bytesToNumberLE(signature.subarray(32, 64));
  if (s >= L) throw new InvalidSignature("S is not below the group order");
  if (!isCanonicalEncoding(r) || isSmallOrderEncoding(r)) throw new InvalidSignature("R is non-canonical or of small order");
  const A = strictPoint(publicKey);
  if (A === undefined) throw new InvalidSignature("public key is non-canonical, of small order or not a point");
  const k = bytesToNumberLE(sha512(concat(r, publicKey, message))) % L;
  const rCheck = Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes();
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= rCheck[i]! ^ r[i]!;
  if (diff !== 0) throw new InvalidSignature("signature does not verify");
}

/** True when the 32 bytes are a canonical encoding of a point of large order (KEYS-003). */
export function ed25519IsPoint(publicKey: Uint8Array): boolean {
  return strictPoint(publicKey) !== undefined;
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return nobleHmac(sha256, key, data);
}

/** HKDF-SHA256 (RFC 5869), extract then expand. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return expand(sha256, extract(sha256, ikm, salt), info, length);
}

export function sha256Hash(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/** Constant-time equality of two byte strings (lengths are public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Verify a 32-byte HMAC tag in constant time (PROFILE-011): INVALID_MAC. */
export function verifyMac(key: Uint8Array, data: Uint8Array, tag: Uint8Array): void {
  if (tag.length !== MAC_LEN) throw new InvalidMac("MAC must be 32 bytes");
  if (!constantTimeEqual(hmacSha256(key, data), tag)) throw new InvalidMac("MAC does not verify");
}

/** AES-256-CBC with PKCS#7 padding. */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return cbc(key, iv).encrypt(plaintext);
}

/**
 * AES-256-CBC decryption (PROFILE-012): an empty ciphertext or one that is not
 * a multiple of 16 bytes is MALFORMED_MESSAGE; bad PKCS#7 padding INVALID_PADDING.
 * Called only after the MAC has verified.
 */
export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new MalformedMessage("ciphertext must be a non-zero multiple of 16 bytes");
  }
  const padded = cbc(key, iv, { disablePadding: true }).decrypt(ciphertext);
  const pad = padded[padded.length - 1]!;
  let bad = pad === 0 || pad > 16 ? 1 : 0;
  for (let i = 1; i <= 16; i++) {
    const inPad = i <= pad ? 1 : 0;
    bad |= inPad & (padded[padded.length - i]! !== pad ? 1 : 0);
  }
  if (bad) throw new InvalidPadding("PKCS#7 padding is invalid");
  return padded.slice(0, padded.length - pad);
}
