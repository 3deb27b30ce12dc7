/**
 * The vector suite in headless Chromium (Debian's /usr/bin/chromium, driven
 * by playwright-core): the esbuild bundle of web/page.ts runs every case in
 * the page, the accumulated walks included; all must pass, none skipped. The
 * same page's two-party demo then exchanges messages in one tab.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without declarations
import { buildWeb } from "../scripts/build-web.mjs";
import { vectorFiles } from "./paths.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Without Chromium a user's `make test` skips this file and says so; under CI
// (which installs Debian's chromium) a missing browser is a failure.
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM && !process.env.CI) {
  console.warn(`${CHROMIUM} not found (apt-get install -y chromium): the browser test is skipped`);
}

describe.skipIf(!HAVE_CHROMIUM && !process.env.CI)("the browser test page", () => {
  let profile: string;
  let out: string;
  let context: BrowserContext;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "parley-chromium-"));
    out = await buildWeb(mkdtempSync(join(tmpdir(), "parley-web-")));
    // A fresh --user-data-dir: playwright passes the directory as that flag.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  });

  afterAll(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it("runs every vector case in Chromium and all pass", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(pathToFileURL(join(out, "index.html")).href);
    await page.waitForFunction(() => window.parley?.done === true, undefined, { timeout: 110_000 });
    const { results, summary, ms } = await page.evaluate(() => ({ results: window.parley.results, summary: window.parley.summary, ms: window.parley.ms }));
    const total = Object.values(vectorFiles()).reduce((n, f: any) => n + f.numberOfTests, 0);
    expect(errors).toEqual([]);
    expect(results.length).toBe(total);
    expect(results.filter((r) => r.outcome === "failed")).toEqual([]);
    expect(results.filter((r) => r.outcome === "skipped")).toEqual([]);
    expect(results.filter((r) => r.family === "accumulated" && r.outcome === "passed").length).toBe(2);
    expect(await page.textContent("#summary")).toBe(`vectors: ${summary}`);
    console.log(`chromium: ${summary}`);
    console.log(`chromium: accumulated/short ${ms["accumulated/short"]} ms, accumulated/long ${ms["accumulated/long"]} ms`);
  });

  it("holds a two-party conversation in one tab", async () => {
    const page = await context.newPage();
    await page.goto(pathToFileURL(join(out, "index.html")).href);
    await page.fill("#alice-text", "hello Bob");
    await page.click("#alice-send");
    await page.fill("#bob-text", "hello Alice");
    await page.click("#bob-send");
    expect(await page.evaluate(() => window.parley.demo("alice", "third"))).toBe("third");
    const bobLog = await page.textContent("#bob-log");
    const aliceLog = await page.textContent("#alice-log");
    expect(bobLog).toContain("< hello Bob");
    expect(aliceLog).toContain("< hello Alice");
    expect(aliceLog).toContain("X3DH header");
  });
});
