/** Two parties with one installation each, from a deterministic stream (CONF-002). */
import { createBundle, verifyBundle } from "../src/bundle.js";
import { ascii } from "../src/bytes.js";
import { IdentityKeyPair, Installation } from "../src/keys.js";
import { DeterministicRandom } from "../src/primitives.js";
import { Session } from "../src/session.js";

export const NOW = 1767225600n;

export function party(rng: DeterministicRandom, opks = 0): Installation {
  return Installation.create(IdentityKeyPair.generate(rng), rng, NOW, opks);
}

export function pair(seed: string, useOpk = false) {
  const rng = new DeterministicRandom(ascii(seed));
  const alice = party(rng);
  const bob = party(rng, useOpk ? 1 : 0);
  const bundle = verifyBundle(createBundle([bob], NOW), NOW);
  const opkId = useOpk ? bob.oneTimePreKeys[0]!.id : undefined;
  const ab = Session.initiate(alice, bundle, bob.installationId, rng, opkId);
  return { rng, alice, bob, ab };
}
