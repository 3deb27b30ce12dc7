"""The multi-device family: the decisions of the library layer that the driver
exposes (SESSION-010's chosen session, MULTI-003's copy, SESSION-020's reset)."""

from __future__ import annotations

from ...codec import ENVELOPE_FORMAT_VERSION, Envelope, InstallationMessage, encode_envelope
from .common import Keys, _case, _file, _record, h

NOTES = {
    "Choice": {"bugType": "FUNCTIONALITY", "description": "Which session is chosen."},
    "TieBreak": {
        "bugType": "EDGE_CASE",
        "description": "A simultaneous start: both sides keep the smaller session id, compared "
        "as unsigned bytes.",
    },
    "Reset": {
        "bugType": "FUNCTIONALITY",
        "description": "A session started by a RESET is always chosen.",
    },
    "Copy": {"bugType": "FUNCTIONALITY", "description": "Which copy of an envelope is taken."},
    "Failure": {
        "bugType": "FUNCTIONALITY",
        "description": "What an undecryptable copy makes the receiver do.",
    },
}

REASONS = {
    "NO_SESSION": "RESET",
    "UNKNOWN_PREKEY": "RESET",
    "INVALID_MAC": "RESET",
    "TOO_MANY_SKIPPED_MESSAGES": "RESET",
    "NOT_ADDRESSED": "HELLO",
    "DUPLICATE_MESSAGE": "EVENT_ONLY",
    "REPLAYED_INITIAL_MESSAGE": "EVENT_ONLY",
    "MALFORMED_MESSAGE": "EVENT_ONLY",
    "UNSUPPORTED_VERSION": "EVENT_ONLY",
    "INVALID_PADDING": "EVENT_ONLY",
    "INVALID_IDENTITY_BINDING": "EVENT_ONLY",
    "ZERO_SHARED_SECRET": "EVENT_ONLY",
    "IDENTITY_MISMATCH": "EVENT_ONLY",
}


def multi_device_file() -> dict:
    k = Keys("multi-device")
    low, high = bytes([0x7F]) + k.raw(31), bytes([0x80]) + k.raw(31)
    other = bytes([0x10]) + k.raw(31)
    choice = []

    def ccase(tc, comment, flags, reqs, accepted, reset, current=None):
        fields = {"acceptedSessionId": h(accepted), "acceptedReset": reset}
        if current is not None:
            sid, initiated, pending = current
            fields["current"] = {"sessionId": h(sid), "initiated": initiated, "pending": pending}
        choice.append(_case(f"multi-device/choose/{tc}", comment, flags, reqs, **fields))

    R = ["SESSION-010"]
    ccase("no-session", "no session with that installation yet", ["Choice"], R, high, False)
    ccase(
        "over-confirmed",
        "the chosen session is confirmed: the newest wins",
        ["Choice"],
        [*R, "RESET-004"],
        high,
        False,
        (low, True, False),
    )
    ccase(
        "over-responder",
        "the chosen session was accepted from the peer: the newest wins",
        ["Choice"],
        R,
        high,
        False,
        (low, False, False),
    )
    ccase(
        "race-accepted-smaller",
        "both started at once; the accepted id is smaller",
        ["TieBreak"],
        R,
        other,
        False,
        (high, True, True),
    )
    ccase(
        "race-own-smaller",
        "both started at once; the own pending id is smaller",
        ["TieBreak"],
        R,
        high,
        False,
        (other, True, True),
    )
    ccase(
        "race-unsigned",
        "0x7f.. against 0x80..: unsigned byte order (a signed compare flips it)",
        ["TieBreak"],
        R,
        high,
        False,
        (low, True, True),
    )
    ccase(
        "race-unsigned-reverse",
        "0x80.. accepted against own 0x7f..: the own one stays",
        ["TieBreak"],
        R,
        low,
        False,
        (high, True, True),
    )
    ccase(
        "reset-wins",
        "the accepted message is a RESET: chosen although its id is larger",
        ["Reset"],
        [*R, "SESSION-020"],
        high,
        True,
        (low, True, True),
    )
    group_choice = {
        "type": "SessionChoiceTest",
        "tests": [_record({"type": "SessionChoiceTest"}, t) for t in choice],
    }

    me, sender, peer2 = k.raw(16), k.raw(16), k.raw(16)
    body = bytes.fromhex("0a00")  # an empty RatchetHeader field: never decoded here

    def env(copies, sender_id=sender):
        messages = tuple(
            InstallationMessage(rid, "ratchet" if rid else "no_bundle", body) for rid in copies
        )
        return encode_envelope(Envelope(ENVELOPE_FORMAT_VERSION, sender_id, messages))

    copies = []

    def scase(tc, comment, reqs, envelope):
        copies.append(
            _case(
                f"multi-device/copy/{tc}",
                comment,
                ["Copy"],
                reqs,
                envelope=h(envelope),
                installationId=h(me),
            )
        )

    M = ["MULTI-003"]
    scase("addressed", "the copy that names this installation", M, env([peer2, me, None]))
    scase(
        "addressed-before-no-bundle",
        "a no-bundle copy first, then one for me: mine",
        M,
        env([None, me]),
    )
    scase("first-of-two", "two copies name me: the first", M, env([peer2, me, me]))
    scase("no-bundle", "no copy names me: the no-bundle copy", M, env([peer2, None]))
    scase("first-no-bundle", "two no-bundle copies: the first", M, env([peer2, None, None]))
    scase(
        "not-addressed",
        "no copy for me, no no-bundle copy: NOT_ADDRESSED (answered by HELLO)",
        [*M, "RESET-001"],
        env([peer2]),
    )
    scase(
        "own-envelope", "my own envelope, with a copy for me: ignored", M, env([me], sender_id=me)
    )
    group_copy = {
        "type": "CopySelectionTest",
        "tests": [_record({"type": "CopySelectionTest"}, t) for t in copies],
    }

    failures = [
        _case(
            f"multi-device/failure/{reason.lower().replace('_', '-')}",
            f"an undecryptable copy, reason {reason}: {action}",
            ["Failure"],
            ["SESSION-020", "RESET-001"] + (["MULTI-003"] if reason == "NOT_ADDRESSED" else []),
            reason=reason,
        )
        for reason, action in REASONS.items()
    ]
    # where the RESET or HELLO goes (SESSION-020): the chosen session or a new one
    reuse_cases = (
        ("reset-over-confirmed", "INVALID_MAC", (low, True, False), False),
        ("reset-over-accepted", "UNKNOWN_PREKEY", (low, False, False), False),
        ("reset-reuses-pending", "INVALID_MAC", (low, True, True), True),
        ("reset-without-session", "NO_SESSION", None, False),
        ("hello-in-chosen", "NOT_ADDRESSED", (low, False, False), True),
        ("hello-without-session", "NOT_ADDRESSED", None, False),
    )
    for tc, reason, chosen, reuse in reuse_cases:
        fields = {"reason": reason}
        if chosen is not None:
            sid, initiated, pending = chosen
            fields["chosen"] = {"sessionId": h(sid), "initiated": initiated, "pending": pending}
        where = "the chosen session" if reuse else "a new session"
        failures.append(
            _case(
                f"multi-device/failure/{tc}",
                f"{reason}: the {REASONS[reason]} goes in {where}",
                ["Failure"],
                ["SESSION-020"],
                **fields,
            )
        )
    group_failure = {"type": "FailureActionTest", "tests": []}
    for test in failures:
        group_failure["tests"].append(_record(group_failure, test))
        want = REASONS[test["reason"]]
        if test["action"] != want:
            raise AssertionError(f"{test['tcId']}: the reference gives {test['action']}")
        if "chosen" in test or test["tcId"].endswith("-without-session"):
            expected = "chosen session" in test["comment"]
            if test["reuseChosen"] != expected:
                raise AssertionError(f"{test['tcId']}: the reference gives {test['reuseChosen']}")
    return _file(
        "PARLEY-MULTI-DEVICE",
        "multi_device.schema.json",
        ["The library's multi-device decisions: chosen session, copy taken, reset."],
        NOTES,
        [group_choice, group_copy, group_failure],
    )
