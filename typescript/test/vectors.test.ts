import { describe, expect, it } from "vitest";
import { runVectors } from "../src/vectors.js";
import { vectorFiles } from "./paths.js";

describe("test-vectors/ in process", () => {
  const files = vectorFiles();
  const results = runVectors(files);

  it("passes every case, the accumulated walks included, and skips none", () => {
    const failed = results.filter((r) => r.outcome === "failed");
    expect(failed).toEqual([]);
    expect(results.filter((r) => r.outcome === "skipped")).toEqual([]);
    expect(results.filter((r) => r.family === "accumulated" && r.outcome === "passed").length).toBe(2);
    const total = Object.values(files).reduce((n, f: any) => n + f.numberOfTests, 0);
    expect(results.length).toBe(total);
  });

  it("fails a case whose expected output is changed", () => {
    const session = structuredClone(files.session);
    const t = session.testGroups[0].tests[0];
    const step = t.steps.find((s: any) => s.op === "encrypt");
    step.message = step.message.slice(0, -2) + (step.message.endsWith("00") ? "01" : "00");
    const [r] = runVectors({ session: { testGroups: [{ type: "ScenarioTest", tests: [t] }] } });
    expect(r!.outcome).toBe("failed");
    expect(r!.detail).toMatch(/message/);
  });

  it("fails a case whose expected error is changed", () => {
    const bundle = structuredClone(files.bundle);
    const group = bundle.testGroups.find((g: any) => g.type === "BundleVerifyTest");
    const t = group.tests.find((x: any) => x.tcId === "bundle/verify/stale");
    t.error = "BUNDLE_TIMESTAMP_IN_FUTURE";
    const [r] = runVectors({ bundle: { testGroups: [{ ...group, tests: [t] }] } });
    expect(r!.outcome).toBe("failed");
    expect(r!.detail).toMatch(/BUNDLE_STALE/);
  });

  it("fails a case with a field the runner does not read, rather than ignoring it", () => {
    const md = structuredClone(files.multi_device);
    const group = md.testGroups.find((g: any) => g.type === "FailureActionTest");
    const t = { ...group.tests[0], somethingNew: true };
    const [r] = runVectors({ multi_device: { testGroups: [{ ...group, tests: [t] }] } });
    expect(r!.outcome).toBe("failed");
    expect(r!.detail).toMatch(/somethingNew/);
  });
});
