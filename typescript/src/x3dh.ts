/** X3DH without a server (spec/x3dh.md): both sides' agreement and the AD. */
import { concat } from "./bytes.js";
import { x3dhKdf } from "./kdf.js";
import type { IdentityFields } from "./codec.js";
import { x25519Dh } from "./primitives.js";

export interface X3dhResult {
  dhOutputs: Uint8Array[];
  sharedKey: Uint8Array;
  associatedData: Uint8Array;
}

/** AD = IK_A.signing || IK_A.dh || inst_A || IK_B.signing || IK_B.dh || inst_B (X3DH-030). */
export function associatedData(
  initiator: IdentityFields,
  initiatorInstallation: Uint8Array,
  responder: IdentityFields,
  responderInstallation: Uint8Array,
): Uint8Array {
  return concat(
    initiator.signingKey,
    initiator.dhKey,
    initiatorInstallation,
    responder.signingKey,
    responder.dhKey,
    responderInstallation,
  );
}

/** Alice's side (X3DH-010): DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B). */
export function x3dhInitiator(args: {
  identityDhPrivate: Uint8Array;
  ephemeralPrivate: Uint8Array;
  peerIdentityDh: Uint8Array;
  peerSignedPreKey: Uint8Array;
  peerOneTimePreKey?: Uint8Array | undefined;
}): { dhOutputs: Uint8Array[]; sharedKey: Uint8Array } {
  const dh = [
    x25519Dh(args.identityDhPrivate, args.peerSignedPreKey),
    x25519Dh(args.ephemeralPrivate, args.peerIdentityDh),
    x25519Dh(args.ephemeralPrivate, args.peerSignedPreKey),
  ];
  if (args.peerOneTimePreKey !== undefined) dh.push(x25519Dh(args.ephemeralPrivate, args.peerOneTimePreKey));
  return { dhOutputs: dh, sharedKey: x3dhKdf(concat(...dh)) };
}

/** Bob's side: DH1 = DH(SPK_B, IK_A), DH2 = DH(IK_B, EK_A), DH3 = DH(SPK_B, EK_A), DH4 = DH(OPK_B, EK_A). */
export function x3dhResponder(args: {
  identityDhPrivate: Uint8Array;
  signedPreKeyPrivate: Uint8Array;
  oneTimePreKeyPrivate?: Uint8Array | undefined;
  peerIdentityDh: Uint8Array;
  peerEphemeralKey: Uint8Array;
}): { dhOutputs: Uint8Array[]; sharedKey: Uint8Array } {
  const dh = [
    x25519Dh(args.signedPreKeyPrivate, args.peerIdentityDh),
    x25519Dh(args.identityDhPrivate, args.peerEphemeralKey),
    x25519Dh(args.signedPreKeyPrivate, args.peerEphemeralKey),
  ];
  if (args.oneTimePreKeyPrivate !== undefined) dh.push(x25519Dh(args.oneTimePreKeyPrivate, args.peerEphemeralKey));
  return { dhOutputs: dh, sharedKey: x3dhKdf(concat(...dh)) };
}
