/** Version policy and negotiation (spec/versioning.md). */
import { InvalidArgument, UnsupportedVersion } from "./errors.js";
import { PROTOCOL_VERSION } from "./profile.js";

/** The versions an installation reads, and the highest it may write (one it reads). */
export interface VersionPolicy {
  readonly reads: readonly number[];
  readonly writes: number;
}

export const DEFAULT_POLICY: VersionPolicy = Object.freeze({ reads: Object.freeze([PROTOCOL_VERSION]), writes: PROTOCOL_VERSION });

/** Check a policy: versions 1..255 (as u32 in the signed bytes), `writes` among `reads`. */
export function makePolicy(reads: readonly number[], writes: number): VersionPolicy {
  if (reads.length === 0) throw new InvalidArgument("a policy must read at least one version");
  for (const v of reads) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new InvalidArgument("a protocol version is at least 1");
  }
  if (!reads.includes(writes)) throw new InvalidArgument("a policy must read the version it writes");
  const sorted = [...new Set(reads)].sort((a, b) => a - b);
  return Object.freeze({ reads: Object.freeze(sorted), writes });
}

/**
 * VERSION-010: the highest version the peer's entry lists that the local
 * policy reads and may write (at most `writes`); none is UNSUPPORTED_VERSION.
 */
export function negotiate(policy: VersionPolicy, peerReads: readonly number[]): number {
  let best = 0;
  for (const v of peerReads) {
    if (v <= policy.writes && policy.reads.includes(v) && v > best) best = v;
  }
  if (best === 0) throw new UnsupportedVersion("no protocol version in common with the peer");
  return best;
}
