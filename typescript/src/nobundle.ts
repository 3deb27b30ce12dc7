/** Messages sent without the recipient's bundle (spec/no-bundle.md). Not forward secret (NOBUNDLE-002). */
import { concat, equal, u32 } from "./bytes.js";
import { decodeNoBundleMessage, encodeNoBundleHeader, encodeNoBundleMessage } from "./codec.js";
import { InvalidArgument, InvalidMac, MalformedMessage, ReplayedInitialMessage } from "./errors.js";
import { messageKeys, noBundleKdf } from "./kdf.js";
import { type IdentityKeyPair, PublicIdentity } from "./keys.js";
import { aesCbcDecrypt, aesCbcEncrypt, constantTimeEqual, hmacSha256, x25519Dh, x25519PublicKey, type RandomSource } from "./primitives.js";
import { INSTALLATION_ID_LEN, MAX_PLAINTEXT, PROFILE_ID } from "./profile.js";
import type { VersionPolicy } from "./versioning.js";

function noBundleAd(sender: PublicIdentity, senderInstallation: Uint8Array, recipient: PublicIdentity): Uint8Array {
  return concat(sender.signingKey, sender.dhKey, senderInstallation, recipient.signingKey, recipient.dhKey);
}

function macInput(ad: Uint8Array, header: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return concat(ad, u32(header.length), header, u32(0), ciphertext);
}

/** Seal a no-bundle message (NOBUNDLE-010); draws 32 bytes for EK. */
export function sealNoBundle(args: {
  sender: IdentityKeyPair;
  senderInstallationId: Uint8Array;
  recipient: PublicIdentity;
  plaintext: Uint8Array;
  version: number;
  rng: RandomSource;
}): Uint8Array {
  if (args.senderInstallationId.length !== INSTALLATION_ID_LEN) throw new InvalidArgument("an installation id is 16 bytes");
  if (args.plaintext.length > MAX_PLAINTEXT) throw new InvalidArgument("plaintext exceeds 1 MiB");
  const ek = args.rng.randomBytes(32);
  const mk = noBundleKdf(concat(x25519Dh(ek, args.recipient.dhKey), x25519Dh(args.sender.dhPrivateKey, args.recipient.dhKey)));
  const header = encodeNoBundleHeader(args.version, args.sender.publicIdentity, x25519PublicKey(ek), args.recipient.dhKey);
  const keys = messageKeys(mk);
  const ciphertext = aesCbcEncrypt(keys.encKey, keys.iv, args.plaintext);
  const ad = noBundleAd(args.sender.publicIdentity, args.senderInstallationId, args.recipient);
  const mac = hmacSha256(keys.macKey, macInput(ad, header, ciphertext));
  return encodeNoBundleMessage(header, ciphertext, mac);
}

export interface OpenedNoBundle {
  plaintext: Uint8Array;
  senderIdentity: PublicIdentity;
  ephemeralKey: Uint8Array;
  forwardSecret: false;
}

/** The replay cache of NOBUNDLE-020, kept by the caller for as long as its identity is in use. */
export interface NoBundleReplayCache {
  has(ephemeralKey: Uint8Array): boolean;
  add(ephemeralKey: Uint8Array): void;
}

/** Open a no-bundle message in the order of NOBUNDLE-011; records EK only after it decrypted. */
export function openNoBundle(args: {
  recipient: IdentityKeyPair;
  message: Uint8Array;
  senderInstallationId: Uint8Array;
  policy: VersionPolicy;
  replayCache?: NoBundleReplayCache;
}): OpenedNoBundle {
  if (args.senderInstallationId.length !== INSTALLATION_ID_LEN) throw new MalformedMessage("sender installation id must be 16 bytes");
  const m = decodeNoBundleMessage(args.message, args.policy);
  const me = args.recipient.publicIdentity;
  if (!equal(m.recipientDhKey, me.dhKey)) throw new MalformedMessage("a no-bundle message for another identity");
  const sender = PublicIdentity.verify(m.senderIdentity, PROFILE_ID);
  if (args.replayCache?.has(m.ephemeralKey)) throw new ReplayedInitialMessage("no-bundle message already accepted");
  const mk = noBundleKdf(concat(x25519Dh(args.recipient.dhPrivateKey, m.ephemeralKey), x25519Dh(args.recipient.dhPrivateKey, sender.dhKey)));
  const keys = messageKeys(mk);
  const ad = noBundleAd(sender, args.senderInstallationId, me);
  const tag = hmacSha256(keys.macKey, macInput(ad, m.headerBytes, m.ciphertext));
  if (!constantTimeEqual(tag, m.mac)) throw new InvalidMac("MAC does not verify");
  const plaintext = aesCbcDecrypt(keys.encKey, keys.iv, m.ciphertext);
  args.replayCache?.add(m.ephemeralKey.slice());
  return { plaintext, senderIdentity: sender, ephemeralKey: m.ephemeralKey, forwardSecret: false };
}
