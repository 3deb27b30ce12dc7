#!/usr/bin/env node
// A Parley echo bot in Node: connects to `parley serve` (parley.api.v1.ParleyService),
// answers every message it receives, and acknowledges each event once handled.
//
//   node bot.js --socket HOME/api.sock --token-file HOME/api.token [--count N] [--code-file FILE]
//
// The client is built at run time from proto/parley/api/v1/api.proto with
// @grpc/proto-loader (keepCase: the field names of the .proto). --count N
// stops after N replies (for tests); without it the bot runs until killed.
// --code-file FILE: write the bot's contact code there, for people to add it.
"use strict";

const fs = require("fs");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

function parseArgs(argv) {
  const args = { count: 0, proto: path.join(__dirname, "..", "..", "proto") };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === "--socket") args.socket = value;
    else if (key === "--token-file") args.tokenFile = value;
    else if (key === "--count") args.count = Number(value);
    else if (key === "--code-file") args.codeFile = value;
    else if (key === "--proto") args.proto = value;
    else throw new Error(`unknown option ${key}`);
  }
  if (!args.socket || !args.tokenFile) {
    throw new Error("usage: bot.js --socket PATH --token-file PATH [--count N] [--code-file FILE]");
  }
  return args;
}

function connect(args) {
  const definition = protoLoader.loadSync("parley/api/v1/api.proto", {
    includeDirs: [args.proto],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const api = grpc.loadPackageDefinition(definition).parley.api.v1;
  const token = fs.readFileSync(args.tokenFile, "utf8").trim();
  const auth = new grpc.Metadata();
  auth.set("authorization", `Bearer ${token}`);
  const client = new api.ParleyService(`unix:${args.socket}`, grpc.credentials.createInsecure());
  // Promise form of a unary call, with the token.
  const call = (method, request) =>
    new Promise((resolve, reject) =>
      client[method](request, auth, (err, response) => (err ? reject(err) : resolve(response)))
    );
  return { client, auth, call };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { client, auth, call } = connect(args);
  const me = await call("GetAccount", {});
  if (args.codeFile) {
    const { code } = await call("GetContactCode", {});
    fs.writeFileSync(args.codeFile + ".tmp", code + "\n");
    fs.renameSync(args.codeFile + ".tmp", args.codeFile); // readers never see half a code
  }
  console.log(`bot ${me.fingerprint.slice(0, 16)} listening`);
  let replies = 0;
  const stream = client.SubscribeEvents({}, auth);
  let queue = Promise.resolve();
  stream.on("data", ({ event }) => {
    // Handle events one at a time, in order; acknowledge each once handled,
    // so that a crash before the ack gets it delivered again.
    queue = queue.then(async () => {
      if (event.kind === "message_received" && !event.message_received.redelivered) {
        const msg = event.message_received;
        const text = Buffer.from(msg.body).toString("utf8");
        const sender = Buffer.from(msg.sender_account_id).toString("hex");
        console.log(`from ${sender.slice(0, 16)}: ${text}`);
        const sent = await call("SendMessage", { contact: sender, body: Buffer.from(`echo: ${text}`) });
        console.log(`replied (forward secret: ${sent.forward_secret})`);
        replies += 1;
      }
      await call("AckEvents", { event_ids: [event.event_id] });
      if (args.count && replies >= args.count) {
        stream.cancel();
        client.close();
      }
    }).catch((err) => {
      console.error(`bot: ${err.message}`);
      process.exitCode = 1;
      stream.cancel();
      client.close();
    });
  });
  stream.on("error", (err) => {
    if (err.code !== grpc.status.CANCELLED) {
      console.error(`bot: stream: ${err.message}`);
      process.exitCode = 1;
    }
  });
}

main().catch((err) => {
  console.error(`bot: ${err.message}`);
  process.exit(1);
});
