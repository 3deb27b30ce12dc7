// A TypeScript client of `parley serve` (parley.api.v1.ParleyService) on the
// code protoc-gen-es (protobuf-es) generates from proto/; the calls go over
// @grpc/grpc-js, with protobuf-es doing every encode and decode.
//
//   node client.js SOCKET TOKEN_FILE [RATCHET_MESSAGE_HEX]
//
// Calls GetAccount and GetContactCode and prints the account; then, if
// given, decodes a parley.v1.RatchetMessage (for example one from
// test-vectors/wire.json) and prints its fields, as the C++ client does.
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { ParleyService } from "./gen/parley/api/v1/api_pb";
import { RatchetHeaderSchema, RatchetMessageSchema, X3DHHeaderSchema } from "./gen/parley/v1/wire_pb";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** One unary call of a method described by the generated service. */
function call<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  metadata: grpc.Metadata,
): Promise<MessageShape<O>> {
  const path = `/${method.parent.typeName}/${method.name}`;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (message: MessageShape<I>) => Buffer.from(toBinary(method.input, message)),
      (bytes: Buffer) => fromBinary(method.output, bytes),
      create(method.input, input),
      metadata,
      { deadline: Date.now() + 10_000 },
      (error: grpc.ServiceError | null, value?: MessageShape<O>) =>
        error || value === undefined ? reject(error ?? new Error("no response")) : resolve(value),
    );
  });
}

function printRatchetMessage(text: string): void {
  const message = fromBinary(RatchetMessageSchema, Buffer.from(text, "hex"));
  const header = fromBinary(RatchetHeaderSchema, message.header);
  console.log(`ratchet_message.version ${header.version}`);
  console.log(`ratchet_message.ratchet_key ${hex(header.ratchetKey)}`);
  console.log(`ratchet_message.previous_chain_length ${header.previousChainLength}`);
  console.log(`ratchet_message.message_number ${header.messageNumber}`);
  console.log(`ratchet_message.ciphertext_bytes ${message.ciphertext.length}`);
  console.log(`ratchet_message.mac ${hex(message.mac)}`);
  if (message.x3dhHeader.length > 0) {
    const x3dh = fromBinary(X3DHHeaderSchema, message.x3dhHeader);
    console.log(`x3dh.ephemeral_key ${hex(x3dh.ephemeralKey)}`);
    console.log(`x3dh.signed_prekey_id ${x3dh.signedPrekeyId}`);
    console.log(`x3dh.initiator_signing_key ${hex(x3dh.initiatorIdentity?.signingKey ?? new Uint8Array())}`);
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.length < 2) {
    console.error("usage: node client.js SOCKET TOKEN_FILE [RATCHET_MESSAGE_HEX]");
    return 2;
  }
  const [socket, tokenFile, vector] = argv;
  const token = fs.readFileSync(tokenFile, "utf8").trim();
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const client = new grpc.Client(`unix:${socket}`, grpc.credentials.createInsecure());
  try {
    const account = await call(client, ParleyService.method.getAccount, {}, metadata);
    console.log(`account.fingerprint ${account.fingerprint}`);
    console.log(`account.installation_id ${hex(account.installationId)}`);
    const code = await call(client, ParleyService.method.getContactCode, {}, metadata);
    console.log(`contact_code ${code.code}`);
  } finally {
    client.close();
  }
  if (vector !== undefined) printRatchetMessage(vector);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
