/** Wycheproof (C2SP) vectors through the primitives layer: X25519, Ed25519, HKDF, HMAC, AES-CBC. */
import { describe, expect, it } from "vitest";
import { fromHex } from "../src/bytes.js";
import { InvalidSignature, MalformedMessage, ZeroSharedSecret } from "../src/errors.js";
import { aesCbcDecrypt, aesCbcEncrypt, ed25519Verify, hkdf, hmacSha256, x25519Dh } from "../src/primitives.js";
import { readJson } from "./paths.js";

const wp = (name: string) => readJson("tests", "vectors", "wycheproof", name);

describe("Wycheproof X25519", () => {
  const file = wp("x25519_test.json");
  const cases = file.testGroups.flatMap((g: any) => g.tests);
  it.each(cases.map((t: any): [number, any] => [t.tcId, t]) as [number, any][])("tcId %s", (_id: number, t: any) => {
    const shared = fromHex(t.shared);
    const allZero = shared.every((b) => b === 0);
    if (allZero) {
      // PROFILE-010: an all-zero output is an error, whatever Wycheproof allows.
      expect(() => x25519Dh(fromHex(t.private), fromHex(t.public))).toThrow(ZeroSharedSecret);
    } else {
      // valid and acceptable alike: any 32-byte string is a public key (RFC 7748).
      expect(Buffer.from(x25519Dh(fromHex(t.private), fromHex(t.public))).toString("hex")).toBe(t.shared);
    }
  });
});

describe("Wycheproof Ed25519", () => {
  const file = wp("ed25519_test.json");
  const cases = file.testGroups.flatMap((g: any) => g.tests.map((t: any) => ({ ...t, pk: g.publicKey.pk })));
  it.each(cases.map((t: any): [number, any] => [t.tcId, t]) as [number, any][])("tcId %s", (_id: number, t: any) => {
    const verify = () => ed25519Verify(fromHex(t.pk), fromHex(t.msg), fromHex(t.sig));
    if (t.result === "valid") verify();
    // A signature that is not 64 bytes is malformed input (WIRE-001), never a failed check.
    else expect(verify).toThrow(fromHex(t.sig).length === 64 ? InvalidSignature : MalformedMessage);
  });
});

describe("Wycheproof HKDF-SHA256, HMAC-SHA256, AES-CBC-PKCS5", () => {
  it("HKDF", () => {
    for (const g of wp("hkdf_sha256_test.json").testGroups) {
      for (const t of g.tests) {
        if (t.result !== "valid") continue;
        expect(Buffer.from(hkdf(fromHex(t.ikm), fromHex(t.salt), fromHex(t.info), t.size)).toString("hex")).toBe(t.okm);
      }
    }
  });
  it("HMAC", () => {
    for (const g of wp("hmac_sha256_test.json").testGroups) {
      for (const t of g.tests) {
        const tag = Buffer.from(hmacSha256(fromHex(t.key), fromHex(t.msg))).toString("hex").slice(0, g.tagSize / 4);
        expect(tag === t.tag).toBe(t.result === "valid");
      }
    }
  });
  it("AES-256-CBC", () => {
    for (const g of wp("aes_cbc_pkcs5_test.json").testGroups) {
      if (g.keySize !== 256) continue;
      for (const t of g.tests) {
        const key = fromHex(t.key);
        const iv = fromHex(t.iv);
        if (t.result === "valid") {
          expect(Buffer.from(aesCbcEncrypt(key, iv, fromHex(t.msg))).toString("hex")).toBe(t.ct);
          expect(Buffer.from(aesCbcDecrypt(key, iv, fromHex(t.ct))).toString("hex")).toBe(t.msg);
        } else {
          expect(() => aesCbcDecrypt(key, iv, fromHex(t.ct))).toThrow();
        }
      }
    }
  });
});
