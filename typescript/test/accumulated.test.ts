/**
 * The accumulated walk of spec/conformance.md (CONF-020): both committed
 * cases reproduce, and the walk is sensitive to what it claims to check.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { forgedCopy, runAccumulated, type WalkRecord } from "../src/conformance/accumulated.js";
import { DriverCore } from "../src/driver/core.js";
import * as d from "../src/gen/parley/driver/v1/driver_pb.js";
import { RatchetMessageSchema } from "../src/gen/parley/v1/wire_pb.js";
import { DuplicateMessage, InvalidArgument, InvalidMac } from "../src/errors.js";
import { runVectors } from "../src/vectors.js";
import { readJson } from "./paths.js";

const file = readJson("test-vectors", "accumulated.json");
const cases: any[] = file.testGroups[0].tests;
const short = cases.find((t) => t.tcId === "accumulated/short");

describe("accumulated walk", () => {
  // Both cases (accumulated/long too) also run in vectors.test.ts and in the browser page.
  it("accumulated/short reproduces its counts and sha256", () => {
    const r = runAccumulated(short.seed, short.steps);
    expect(r.counts).toEqual(short.counts);
    expect(r.sha256).toBe(short.sha256);
  });

  it("the file holds the two cases, short and long", () => {
    expect(cases.map((t) => [t.tcId, t.steps])).toEqual([["accumulated/short", 300], ["accumulated/long", 3000]]);
  });

  it("absorbs the records the spec lists, in its setup order", () => {
    const records: WalkRecord[] = [];
    runAccumulated(short.seed, short.steps, (r) => records.push(r));
    expect(records.slice(0, 3).map((r) => r.tag).join("")).toBe("IIB");
    expect(records[0]!.data.length).toBe(128);
    const tags = records.map((r) => r.tag);
    expect(tags.filter((t) => t === "E").length).toBe(short.counts.encrypted);
    expect(tags.filter((t) => t === "P").length).toBe(short.counts.decrypted);
    expect(tags.filter((t) => t === "X").length).toBe(short.counts.INVALID_MAC + short.counts.DUPLICATE_MESSAGE);
  });

  it("forges a copy that differs in the top bit of mac[0] alone", () => {
    const records: WalkRecord[] = [];
    runAccumulated(short.seed, 5, (r) => records.push(r));
    const message = records.find((r) => r.tag === "E")!.data;
    const forged = forgedCopy(message);
    const diff = [...forged].map((b, i) => b ^ message[i]!).map((x, i) => [i, x]).filter(([, x]) => x !== 0);
    expect(forged.length).toBe(message.length);
    expect(diff.length).toBe(1);
    expect(diff[0]![1]).toBe(0x80);
    expect(fromBinary(RatchetMessageSchema, forged).mac[0]).toBe(fromBinary(RatchetMessageSchema, message).mac[0]! ^ 0x80);
  });

  it("changes its digest when the driver answers a duplicate with the wrong code", () => {
    class WrongCode extends DriverCore {
      override decrypt(r: d.DecryptRequest) {
        try {
          return super.decrypt(r);
        } catch (e) {
          if (e instanceof DuplicateMessage) throw new InvalidMac("mutant");
          throw e;
        }
      }
    }
    const r = runAccumulated(short.seed, short.steps, undefined, new WrongCode());
    expect(r.counts.DUPLICATE_MESSAGE).toBeUndefined();
    expect(r.sha256).not.toBe(short.sha256);
  });

  it("absorbs a refusal with a local registry code (INVALID_ARGUMENT) as an X record, as the spec says", () => {
    class LocalCode extends DriverCore {
      override decrypt(r: d.DecryptRequest) {
        try {
          return super.decrypt(r);
        } catch (e) {
          if (e instanceof DuplicateMessage) throw new InvalidArgument("mutant");
          throw e;
        }
      }
    }
    const r = runAccumulated(short.seed, short.steps, undefined, new LocalCode());
    const { DUPLICATE_MESSAGE, ...rest } = short.counts;
    expect(r.counts).toEqual({ ...rest, INVALID_ARGUMENT: DUPLICATE_MESSAGE });
    expect(r.sha256).not.toBe(short.sha256);
  });

  it("is reported failed by the vector runner when the sha256 or the counts are changed", () => {
    for (const change of [
      (t: any) => (t.sha256 = t.sha256.replace(/^./, (c: string) => (c === "0" ? "1" : "0"))),
      (t: any) => (t.counts.lost += 1),
      (t: any) => (t.steps -= 1),
    ]) {
      const t = structuredClone(short);
      change(t);
      const [r] = runVectors({ accumulated: { testGroups: [{ type: "AccumulatedTest", tests: [t] }] } });
      expect(r!.outcome).toBe("failed");
    }
  });
});
