/** The README's TypeScript example runs as written, against the built package (dist/). */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { REPO, TS_ROOT } from "./paths.js";

it("runs the README's TypeScript example", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const block = /```ts\n([\s\S]*?)```/.exec(readme);
  expect(block).not.toBeNull();
  const dist = join(TS_ROOT, "dist", "index.js");
  expect(existsSync(dist), "build first: make ts-build").toBe(true);
  const code =
    block![1]!.replace('"@parley/protocol"', JSON.stringify(pathToFileURL(dist).href)) +
    '\nif (new TextDecoder().decode(hello) !== "hello" || new TextDecoder().decode(reply) !== "hi Alice" || saved.length < 300) throw new Error("wrong");\nconsole.log("ok", saved.length);\n';
  const dir = mkdtempSync(join(tmpdir(), "parley-readme-"));
  try {
    writeFileSync(join(dir, "example.mjs"), code);
    expect(execFileSync(process.execPath, [join(dir, "example.mjs")], { encoding: "utf8" })).toMatch(/^ok \d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
