/**
 * The library's multi-device decisions as pure functions: the chosen session
 * (SESSION-010), the copy an installation takes (MULTI-003) and what it does
 * about an undecryptable copy (SESSION-020, spec/session-reset.md).
 */
import { compare, equal } from "./bytes.js";
import { decodeEnvelope } from "./envelope.js";
import { InvalidArgument } from "./errors.js";

export interface SessionCandidate {
  sessionId: Uint8Array;
  /** This installation started it. */
  initiated: boolean;
  /** No message from the peer has been decrypted in it yet. */
  pending: boolean;
}

/** SESSION-010: the session to send with after accepting an initial message. */
export function chooseSession(current: SessionCandidate | undefined, acceptedSessionId: Uint8Array, acceptedReset: boolean): Uint8Array {
  if (acceptedSessionId.length !== 32) throw new InvalidArgument("a session id is 32 bytes");
  if (current === undefined || acceptedReset || !(current.initiated && current.pending)) return acceptedSessionId;
  return compare(current.sessionId, acceptedSessionId) <= 0 ? current.sessionId : acceptedSessionId;
}

export type CopySelection =
  | { selection: "ADDRESSED"; index: number }
  | { selection: "NO_BUNDLE"; index: number }
  | { selection: "NOT_ADDRESSED" }
  | { selection: "OWN_ENVELOPE" };

/** MULTI-003: which copy of an envelope an installation takes. */
export function selectCopy(envelope: Uint8Array, installationId: Uint8Array): CopySelection {
  if (installationId.length !== 16) throw new InvalidArgument("an installation id is 16 bytes");
  const e = decodeEnvelope(envelope);
  if (equal(e.senderInstallationId, installationId)) return { selection: "OWN_ENVELOPE" };
  const addressed = e.copies.findIndex((c) => c.kind === "ratchet" && equal(c.recipientInstallationId, installationId));
  if (addressed >= 0) return { selection: "ADDRESSED", index: addressed };
  const noBundle = e.copies.findIndex((c) => c.kind === "no_bundle");
  if (noBundle >= 0) return { selection: "NO_BUNDLE", index: noBundle };
  return { selection: "NOT_ADDRESSED" };
}

export type FailureAction = "RESET" | "HELLO" | "EVENT_ONLY";

/** The undecryptable reasons that are not registry codes (spec/session-reset.md). */
export const UNDECRYPTABLE_REASONS = ["NO_SESSION", "NOT_ADDRESSED", "IDENTITY_MISMATCH"] as const;

const RESETS = new Set(["NO_SESSION", "UNKNOWN_PREKEY", "INVALID_MAC", "TOO_MANY_SKIPPED_MESSAGES"]);

/**
 * The table of spec/session-reset.md, "Which failures start a reset" (any
 * other reason is the event only), and SESSION-020's reuse: a RESET goes in
 * the chosen session when this installation initiated it and it is still
 * pending; a HELLO goes in the chosen session when there is one.
 */
export function decideFailure(reason: string, chosen?: SessionCandidate): { action: FailureAction; reuseChosen: boolean } {
  if (RESETS.has(reason)) return { action: "RESET", reuseChosen: chosen !== undefined && chosen.initiated && chosen.pending };
  if (reason === "NOT_ADDRESSED") return { action: "HELLO", reuseChosen: chosen !== undefined };
  return { action: "EVENT_ONLY", reuseChosen: false };
}
