/** Paths into the repository, for the Node-side tests only. */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const TS_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = join(TS_ROOT, "..");
/** Every vector file of test-vectors/, by family (file name without .json). */
export const VECTOR_FAMILIES = readdirSync(join(REPO, "test-vectors"))
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -5))
  .sort();

export function readJson(...parts: string[]): any {
  return JSON.parse(readFileSync(join(REPO, ...parts), "utf8"));
}

export function vectorFiles(): Record<string, any> {
  return Object.fromEntries(VECTOR_FAMILIES.map((f) => [f, readJson("test-vectors", `${f}.json`)]));
}
