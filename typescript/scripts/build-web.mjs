// Bundle the browser test page (web/) with esbuild into dist/web/: one IIFE
// script for the browser platform, so any Node-only import in the core fails the build.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export async function buildWeb(outDir = join(root, "dist", "web")) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, "web", "page.ts")],
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    outfile: join(outDir, "page.js"),
    logLevel: "warning",
  });
  copyFileSync(join(root, "web", "index.html"), join(outDir, "index.html"));
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildWeb(process.argv[2]);
  console.log(`browser page built: ${join(out, "index.html")}`);
}
