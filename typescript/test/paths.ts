/** Paths into the repository, for the Node-side tests only. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const TS_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = join(TS_ROOT, "..");
export const VECTOR_FAMILIES = ["kdf", "x3dh", "bundle", "wire", "versioning", "session", "no_bundle", "fanout", "compromise", "accumulated"];

export function readJson(...parts: string[]): any {
  return JSON.parse(readFileSync(join(REPO, ...parts), "utf8"));
}

export function vectorFiles(): Record<string, any> {
  return Object.fromEntries(VECTOR_FAMILIES.map((f) => [f, readJson("test-vectors", `${f}.json`)]));
}
