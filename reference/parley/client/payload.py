"""What the library puts inside an encrypted message (the plaintext of the core).

    payload = u8 kind || message id (16 bytes) || [peer account (32 bytes)] || body

========  ====  ==========================================================
kind      byte  meaning
========  ====  ==========================================================
TEXT      1     a message for the recipient; body = the application's bytes
SENT      2     a copy for the sender's own other installations: the peer
                it was sent to, then the application's bytes (FANOUT-001)
RESET     3     "start a new session with me" (SESSION-020); empty body
HELLO     4     a new or restored installation announces itself; empty body
========  ====  ==========================================================

The message id is random; every copy of one message carries the same id,
so the installations of one account can match their histories.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidArgument, MalformedMessage

__all__ = ["HELLO", "RESET", "SENT", "TEXT", "Payload", "decode_payload", "encode_payload"]

TEXT, SENT, RESET, HELLO = 1, 2, 3, 4
_KINDS = {TEXT, SENT, RESET, HELLO}
MESSAGE_ID_SIZE = 16
ACCOUNT_SIZE = 32


@dataclass(frozen=True, slots=True)
class Payload:
    kind: int
    message_id: bytes
    body: bytes = field(default=b"", repr=False)
    peer: bytes | None = None


def encode_payload(payload: Payload) -> bytes:
    """The plaintext of a payload (PAYLOAD-001); InvalidArgument (a ValueError)
    for a payload that breaks its rules."""
    if payload.kind not in _KINDS:
        raise InvalidArgument(f"payload kind {payload.kind} is not TEXT, SENT, RESET or HELLO")
    if len(payload.message_id) != MESSAGE_ID_SIZE:
        raise InvalidArgument(f"a payload message id is {MESSAGE_ID_SIZE} bytes")
    peer = b""
    if payload.kind == SENT:
        if payload.peer is None or len(payload.peer) != ACCOUNT_SIZE:
            raise InvalidArgument("a SENT payload names its peer (32 bytes)")
        peer = payload.peer
    elif payload.peer is not None:
        raise InvalidArgument("only a SENT payload names a peer")
    if payload.kind in (RESET, HELLO) and payload.body:
        raise InvalidArgument("a RESET or HELLO payload has no body")
    return bytes([payload.kind]) + payload.message_id + peer + payload.body


def decode_payload(data: bytes) -> Payload:
    if len(data) < 1 + MESSAGE_ID_SIZE or data[0] not in _KINDS:
        raise MalformedMessage("the decrypted payload is not a Parley payload")
    kind, message_id, rest = data[0], data[1 : 1 + MESSAGE_ID_SIZE], data[1 + MESSAGE_ID_SIZE :]
    if kind == SENT:
        if len(rest) < ACCOUNT_SIZE:
            raise MalformedMessage("a SENT payload is too short")
        return Payload(kind, message_id, rest[ACCOUNT_SIZE:], rest[:ACCOUNT_SIZE])
    if kind in (RESET, HELLO) and rest:
        raise MalformedMessage("a control payload has no body")
    return Payload(kind, message_id, rest)
