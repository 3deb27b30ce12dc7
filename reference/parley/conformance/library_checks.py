"""Runner checks of the library-layer vector families: contact codes, payloads
and the multi-device decisions (contact.json, payload.json, multi_device.json).

One function per group type, with the signature of the runner's ``CHECKS``
(which registers them); each sends one driver request and compares, or with
``record=True`` writes, the outputs of the case.
"""

from __future__ import annotations

from ..driver.v1 import driver_pb2 as d
from .scenario import from_hex, to_hex

__all__ = ["LIBRARY_CHECKS"]


def _check(test: dict, record: bool):
    from .runner import _Check

    return _Check(test, record)


def check_contact_encode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _check(test, record)
    request = d.EncodeContactCodeRequest(bundle=from_hex(test["bundle"]))
    response = c.call(drivers["a"], "EncodeContactCode", request)
    if response is not None:
        c.expect("text", response.text)
        c.expect("qrText", response.qr_text)


def check_contact_decode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _check(test, record)
    request = d.DecodeContactCodeRequest(text=test["text"])
    response = c.call(drivers["a"], "DecodeContactCode", request)
    if response is not None:
        c.expect("bundle", response.bundle)


def check_payload_encode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _check(test, record)
    request = d.EncodePayloadRequest(
        kind=test["kind"],
        message_id=from_hex(test["messageId"]),
        peer=from_hex(test.get("peer", "")),
        body=from_hex(test.get("body", "")),
    )
    response = c.call(drivers["a"], "EncodePayload", request)
    if response is not None:
        c.expect("plaintext", response.plaintext)


def check_payload_decode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _check(test, record)
    request = d.DecodePayloadRequest(plaintext=from_hex(test["plaintext"]))
    response = c.call(drivers["a"], "DecodePayload", request)
    if response is not None:
        c.expect(
            "decoded",
            {
                "kind": response.kind,
                "messageId": to_hex(response.message_id),
                "peer": to_hex(response.peer),
                "body": to_hex(response.body),
            },
        )


def check_session_choice(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _check(test, record)
    request = d.ChooseSessionRequest(
        accepted_session_id=from_hex(test["acceptedSessionId"]),
        accepted_reset=test["acceptedReset"],
    )
    if "current" in test:
        cur = test["current"]
        request.current.CopyFrom(
            d.SessionCandidate(
                session_id=from_hex(cur["sessionId"]),
                initiated=cur["initiated"],
                pending=cur["pending"],
            )
        )
    response = c.call(drivers["a"], "ChooseSession", request)
    if response is not None:
        c.expect("chosenSessionId", response.chosen_session_id)


def check_copy_selection(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _check(test, record)
    request = d.SelectCopyRequest(
        envelope=from_hex(test["envelope"]), installation_id=from_hex(test["installationId"])
    )
    response = c.call(drivers["a"], "SelectCopy", request)
    if response is not None:
        name = d.CopySelection.Name(response.selection).removeprefix("COPY_SELECTION_")
        c.expect("selection", name)
        if name in ("ADDRESSED", "NO_BUNDLE"):
            c.expect("index", response.index)


def check_failure_action(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _check(test, record)
    request = d.DecideFailureRequest(reason=test["reason"])
    if "chosen" in test:
        cur = test["chosen"]
        request.chosen.CopyFrom(
            d.SessionCandidate(
                session_id=from_hex(cur["sessionId"]),
                initiated=cur["initiated"],
                pending=cur["pending"],
            )
        )
    response = c.call(drivers["a"], "DecideFailure", request)
    if response is not None:
        action = d.FailureAction.Name(response.action).removeprefix("FAILURE_ACTION_")
        c.expect("action", action)
        if action in ("RESET", "HELLO"):
            c.expect("reuseChosen", response.reuse_chosen)


LIBRARY_CHECKS = {
    "ContactCodeEncodeTest": check_contact_encode,
    "ContactCodeDecodeTest": check_contact_decode,
    "PayloadEncodeTest": check_payload_encode,
    "PayloadDecodeTest": check_payload_decode,
    "SessionChoiceTest": check_session_choice,
    "CopySelectionTest": check_copy_selection,
    "FailureActionTest": check_failure_action,
}
