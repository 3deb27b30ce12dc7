"""The payload family: the plaintext the library layer puts in every message
(PAYLOAD-001, PAYLOAD-002)."""

from __future__ import annotations

from .common import Keys, _case, _file, _record, h, text

NOTES = {
    "Valid": {"bugType": "BASIC", "description": "A well-formed payload."},
    "EdgeCase": {
        "bugType": "EDGE_CASE",
        "description": "The shortest payload of its kind: 17 bytes, or 49 for SENT.",
    },
    "Malformed": {
        "bugType": "CAN_OF_WORMS",
        "description": "A payload that breaks PAYLOAD-001 or PAYLOAD-002.",
    },
}

TEXT, SENT, RESET, HELLO = 1, 2, 3, 4


def payload_file() -> dict:
    k = Keys("payload")
    mid, peer = k.raw(16), k.raw(32)
    body = text("see you at eight")
    enc_tests = []

    def ecase(tc, comment, flags, reqs, kind, expect="ok", **fields):
        enc_tests.append(
            (
                _case(f"payload/encode/{tc}", comment, flags, reqs, kind=kind, **fields),
                expect,
            )
        )

    R1 = ["PAYLOAD-001"]
    bad = "INVALID_ARGUMENT"
    ecase("text", "a TEXT payload", ["Valid"], R1, TEXT, messageId=h(mid), body=body)
    ecase(
        "text-empty", "a TEXT payload with an empty body", ["EdgeCase"], R1, TEXT, messageId=h(mid)
    )
    ecase(
        "sent",
        "a SENT copy naming its peer",
        ["Valid"],
        [*R1, "FANOUT-001"],
        SENT,
        messageId=h(mid),
        peer=h(peer),
        body=body,
    )
    ecase("reset", "a RESET", ["Valid"], [*R1, "SESSION-020"], RESET, messageId=h(mid))
    ecase("hello", "a HELLO", ["Valid"], R1, HELLO, messageId=h(mid))
    ecase("kind-0", "kind 0", ["Malformed"], R1, 0, bad, messageId=h(mid))
    ecase("kind-5", "kind 5", ["Malformed"], R1, 5, bad, messageId=h(mid))
    ecase(
        "short-message-id",
        "a 15-byte message id",
        ["Malformed"],
        R1,
        TEXT,
        bad,
        messageId=h(mid[:15]),
    )
    ecase(
        "sent-without-peer",
        "a SENT payload without its peer",
        ["Malformed"],
        R1,
        SENT,
        bad,
        messageId=h(mid),
        body=body,
    )
    ecase(
        "sent-short-peer",
        "a SENT payload with a 31-byte peer",
        ["Malformed"],
        R1,
        SENT,
        bad,
        messageId=h(mid),
        peer=h(peer[:31]),
    )
    ecase(
        "text-with-peer",
        "a TEXT payload that names a peer",
        ["Malformed"],
        R1,
        TEXT,
        bad,
        messageId=h(mid),
        peer=h(peer),
    )
    ecase(
        "reset-with-body",
        "a RESET payload with a body",
        ["Malformed"],
        R1,
        RESET,
        bad,
        messageId=h(mid),
        body="00",
    )
    ecase(
        "hello-with-body",
        "a HELLO payload with a body",
        ["Malformed"],
        R1,
        HELLO,
        bad,
        messageId=h(mid),
        body="00",
    )
    enc_group = {"type": "PayloadEncodeTest", "tests": []}
    for test, expect in enc_tests:
        enc_group["tests"].append(_record(enc_group, test, expect))

    dec_tests = []

    def dcase(tc, comment, flags, reqs, plaintext: bytes, expect="ok"):
        dec_tests.append(
            (_case(f"payload/decode/{tc}", comment, flags, reqs, plaintext=h(plaintext)), expect)
        )

    R2 = ["PAYLOAD-002"]
    mal = "MALFORMED_MESSAGE"
    raw_body = bytes.fromhex(body)
    dcase("text", "a TEXT payload", ["Valid"], R1, bytes([TEXT]) + mid + raw_body)
    dcase(
        "text-17-bytes",
        "a TEXT payload of 17 bytes: empty body",
        ["EdgeCase"],
        R2,
        bytes([TEXT]) + mid,
    )
    dcase("sent", "a SENT payload", ["Valid"], R1, bytes([SENT]) + mid + peer + raw_body)
    dcase(
        "sent-49-bytes",
        "a SENT payload of 49 bytes: empty body",
        ["EdgeCase"],
        R2,
        bytes([SENT]) + mid + peer,
    )
    dcase("reset", "a RESET payload", ["Valid"], R1, bytes([RESET]) + mid)
    dcase("hello", "a HELLO payload", ["Valid"], R1, bytes([HELLO]) + mid)
    dcase("empty", "no byte at all", ["Malformed"], R2, b"", mal)
    dcase("16-bytes", "16 bytes: shorter than 17", ["Malformed"], R2, bytes([TEXT]) + mid[:15], mal)
    dcase("kind-0", "kind 0", ["Malformed"], R2, bytes([0]) + mid + raw_body, mal)
    dcase("kind-5", "kind 5", ["Malformed"], R2, bytes([5]) + mid + raw_body, mal)
    dcase("kind-255", "kind 255", ["Malformed"], R2, bytes([255]) + mid, mal)
    dcase(
        "sent-48-bytes",
        "a SENT payload of 48 bytes",
        ["Malformed"],
        R2,
        bytes([SENT]) + mid + peer[:31],
        mal,
    )
    dcase(
        "reset-with-body",
        "a RESET payload with a 1-byte body",
        ["Malformed"],
        R2,
        bytes([RESET]) + mid + b"\x00",
        mal,
    )
    dcase(
        "hello-with-body",
        "a HELLO payload with a body",
        ["Malformed"],
        R2,
        bytes([HELLO]) + mid + raw_body,
        mal,
    )
    dec_group = {"type": "PayloadDecodeTest", "tests": []}
    for test, expect in dec_tests:
        dec_group["tests"].append(_record(dec_group, test, expect))
    return _file(
        "PARLEY-PAYLOAD",
        "payload.schema.json",
        ["Application payloads (PAYLOAD-001, PAYLOAD-002)."],
        NOTES,
        [enc_group, dec_group],
    )
