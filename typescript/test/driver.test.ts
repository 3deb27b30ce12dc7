/**
 * The gRPC driver as an outsider sees it: started on an ephemeral port, fed
 * garbage requests on every RPC, it answers each with a typed status
 * (FAILED_PRECONDITION + registry code, or INVALID_ARGUMENT for an undecodable
 * request), never INTERNAL, and stays up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriverService } from "../src/gen/parley/driver/v1/driver_pb.js";
import { TS_ROOT } from "./paths.js";

let driver: ChildProcess;
let client: grpc.Client;

beforeAll(async () => {
  const js = join(TS_ROOT, "dist", "driver.js");
  expect(existsSync(js), "build first: make ts-build").toBe(true);
  driver = spawn(process.execPath, [js, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = "";
    driver.stdout!.on("data", (c) => {
      seen += c;
      const m = /127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) resolve(Number(m[1]));
    });
    driver.on("exit", () => reject(new Error("driver exited")));
  });
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  driver?.kill();
});

function raw(method: string, body: Uint8Array): Promise<grpc.StatusObject | "ok"> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${DriverService.typeName}/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(body),
      (err) => resolve(err ? (err as grpc.StatusObject) : "ok"),
    );
  });
}

describe("the gRPC driver", () => {
  it("answers garbage on every RPC with typed statuses and stays up", async () => {
    const methods = Object.values(DriverService.method).map((m) => m.name);
    const samples = fc.sample(fc.uint8Array({ maxLength: 200 }), { numRuns: 40, seed: 11 });
    const statuses = new Map<string, number>();
    for (const method of methods) {
      for (const body of samples) {
        const r = await raw(method, body);
        const key = r === "ok" ? "OK" : grpc.status[r.code]!;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (r !== "ok") {
          expect([grpc.status.FAILED_PRECONDITION, grpc.status.INVALID_ARGUMENT], `${method}: ${r.details}`).toContain(r.code);
          if (r.code === grpc.status.FAILED_PRECONDITION) expect(r.details).toMatch(/^[A-Z_]+(: |$)/);
        }
      }
    }
    expect(statuses.get("FAILED_PRECONDITION")).toBeGreaterThan(0);
    expect(await raw("GetCapabilities", new Uint8Array(0))).toBe("ok");
    expect(driver.exitCode).toBeNull();
  });
});
