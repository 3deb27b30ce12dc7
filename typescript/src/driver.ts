/**
 * The conformance driver: DriverService (proto/parley/driver/v1/driver.proto)
 * over gRPC on 127.0.0.1, for `python -m parley.conformance --command
 * "node typescript/dist/driver.js --port {port}"`. Node only; the core is not.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { DriverService } from "./gen/parley/driver/v1/driver_pb.js";
import { DriverCore } from "./driver/core.js";
import { ParleyError } from "./errors.js";

function parsePort(argv: string[]): number {
  const i = argv.indexOf("--port");
  const v = i >= 0 ? argv[i + 1] : undefined;
  const port = v === undefined ? NaN : Number(v);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write("usage: node driver.js --port PORT\n");
    process.exit(2);
  }
  return port;
}

/** What the deserializer hands on for request bytes that do not decode. */
const UNDECODABLE = Object.freeze({ undecodable: true });

function serviceDefinition(core: DriverCore): { def: grpc.ServiceDefinition; impl: grpc.UntypedServiceImplementation } {
  const def: Record<string, grpc.MethodDefinition<object, object>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [localName, method] of Object.entries(DriverService.method)) {
    const input = method.input as DescMessage;
    const output = method.output as DescMessage;
    def[localName] = {
      path: `/${DriverService.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: object) => Buffer.from(toBinary(input, m as never)),
      requestDeserialize: (b: Buffer): object => {
        try {
          return fromBinary(input, new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        } catch {
          return UNDECODABLE;
        }
      },
      responseSerialize: (m: object) => Buffer.from(toBinary(output, m as never)),
      responseDeserialize: (b: Buffer): object => fromBinary(output, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
    };
    const fn = (core as unknown as Record<string, (r: unknown) => object>)[localName];
    if (typeof fn !== "function") throw new Error(`driver core lacks ${localName}`);
    impl[localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (call.request === UNDECODABLE) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `the ${method.name} request does not decode` });
        return;
      }
      try {
        callback(null, create(output, fn.call(core, call.request) as never));
      } catch (e) {
        if (e instanceof ParleyError) {
          callback({ code: grpc.status.FAILED_PRECONDITION, details: e.message });
        } else {
          callback({ code: grpc.status.INTERNAL, details: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
        }
      }
    };
  }
  return { def: def as grpc.ServiceDefinition, impl };
}

const port = parsePort(process.argv);
const server = new grpc.Server();
const { def, impl } = serviceDefinition(new DriverCore());
server.addService(def, impl);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    process.stderr.write(`cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`parley-typescript driver listening on 127.0.0.1:${bound}\n`);
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => server.tryShutdown(() => process.exit(0)));
