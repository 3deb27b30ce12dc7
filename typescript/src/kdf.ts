/** The profile's key-derivation functions (spec/profile.md, RATCHET-010..012, X3DH-010, NOBUNDLE-010). */
import { concat } from "./bytes.js";
import { hkdf, hmacSha256 } from "./primitives.js";
import {
  CK_CHAIN,
  CK_MESSAGE,
  KDF_F,
  MESSAGE_KEYS_INFO,
  NO_BUNDLE_INFO,
  RATCHET_INFO,
  X3DH_INFO,
  ZERO_SALT,
} from "./profile.js";

/** KDF_RK(RK, dh_out) -> [RK', CK]. */
export function kdfRk(rk: Uint8Array, dhOut: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdf(dhOut, rk, RATCHET_INFO, 64);
  return [out.slice(0, 32), out.slice(32, 64)];
}

/** KDF_CK(CK) -> [CK', MK]. */
export function kdfCk(ck: Uint8Array): [Uint8Array, Uint8Array] {
  return [hmacSha256(ck, CK_CHAIN), hmacSha256(ck, CK_MESSAGE)];
}

export interface MessageKeys {
  encKey: Uint8Array;
  macKey: Uint8Array;
  iv: Uint8Array;
}

/** Message-key expansion: [enc key, MAC key, IV]. */
export function messageKeys(mk: Uint8Array): MessageKeys {
  const out = hkdf(mk, ZERO_SALT, MESSAGE_KEYS_INFO, 80);
  return { encKey: out.subarray(0, 32), macKey: out.subarray(32, 64), iv: out.subarray(64, 80) };
}

/** SK = HKDF(0xFF*32 || DH1 || DH2 || DH3 [|| DH4], 0^32, "Parley X3DH v1", 32). */
export function x3dhKdf(dhConcat: Uint8Array): Uint8Array {
  return hkdf(concat(KDF_F, dhConcat), ZERO_SALT, X3DH_INFO, 32);
}

/** The no-bundle message key from DH(EK, IK_B) || DH(IK_A, IK_B). */
export function noBundleKdf(dhConcat: Uint8Array): Uint8Array {
  return hkdf(concat(KDF_F, dhConcat), ZERO_SALT, NO_BUNDLE_INFO, 32);
}
