/** The application payload of the library layer (spec/payload.md, PAYLOAD-001, PAYLOAD-002). */
import { concat } from "./bytes.js";
import { InvalidArgument, MalformedMessage } from "./errors.js";

export enum PayloadKind {
  TEXT = 1,
  SENT = 2,
  RESET = 3,
  HELLO = 4,
}

export interface Payload {
  kind: PayloadKind;
  /** 16 bytes, shared by every copy of one message. */
  messageId: Uint8Array;
  /** The peer account's signing key, 32 bytes, in SENT payloads only; else empty. */
  peer: Uint8Array;
  body: Uint8Array;
}

const MESSAGE_ID_LEN = 16;
const PEER_LEN = 32;

function known(kind: number): kind is PayloadKind {
  return kind >= PayloadKind.TEXT && kind <= PayloadKind.HELLO;
}

/** u8(kind) || message_id || [peer] || body; a payload against the rules is INVALID_ARGUMENT. */
export function encodePayload(p: { kind: number; messageId: Uint8Array; peer?: Uint8Array; body?: Uint8Array }): Uint8Array {
  const peer = p.peer ?? new Uint8Array(0);
  const body = p.body ?? new Uint8Array(0);
  if (!known(p.kind)) throw new InvalidArgument(`payload kind ${p.kind} is not 1 to 4`);
  if (p.messageId.length !== MESSAGE_ID_LEN) throw new InvalidArgument("a message id is 16 bytes");
  if (p.kind === PayloadKind.SENT ? peer.length !== PEER_LEN : peer.length !== 0) {
    throw new InvalidArgument("a SENT payload names a 32-byte peer, and only a SENT payload does");
  }
  if ((p.kind === PayloadKind.RESET || p.kind === PayloadKind.HELLO) && body.length !== 0) {
    throw new InvalidArgument("a RESET or HELLO payload has no body");
  }
  return concat(Uint8Array.of(p.kind), p.messageId, peer, body);
}

/** PAYLOAD-002: a plaintext against the rules is MALFORMED_MESSAGE. */
export function decodePayload(plaintext: Uint8Array): Payload {
  if (plaintext.length < 1 + MESSAGE_ID_LEN) throw new MalformedMessage("a payload is at least 17 bytes");
  const kind = plaintext[0]!;
  if (!known(kind)) throw new MalformedMessage(`payload kind ${kind} is unknown`);
  const messageId = plaintext.slice(1, 17);
  if (kind === PayloadKind.SENT) {
    if (plaintext.length < 1 + MESSAGE_ID_LEN + PEER_LEN) throw new MalformedMessage("a SENT payload is at least 49 bytes");
    return { kind, messageId, peer: plaintext.slice(17, 49), body: plaintext.slice(49) };
  }
  const body = plaintext.slice(17);
  if ((kind === PayloadKind.RESET || kind === PayloadKind.HELLO) && body.length !== 0) {
    throw new MalformedMessage("a RESET or HELLO payload has no body");
  }
  return { kind, messageId, peer: new Uint8Array(0), body };
}
