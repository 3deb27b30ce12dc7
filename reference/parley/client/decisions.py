"""The library's decisions about sessions and envelopes, as pure functions.

Each is one rule of the spec that the conformance driver exposes, so that
any implementation's choice can be checked against the vectors:

==================  ===================================================  ===========
function            decides                                              spec
==================  ===================================================  ===========
choose_session      the chosen session after an initial message          SESSION-010
select_copy         the copy of an envelope an installation takes        MULTI-003
failure_action      what an undecryptable copy makes the receiver do     SESSION-020
reuses_chosen       whether a RESET or HELLO goes in the chosen session  SESSION-020
==================  ===================================================  ===========
"""

from __future__ import annotations

from dataclasses import dataclass

from ..codec import Envelope

__all__ = [
    "ADDRESSED",
    "EVENT_ONLY",
    "HELLO",
    "NOT_ADDRESSED",
    "NO_BUNDLE",
    "OWN_ENVELOPE",
    "PENDING_FULL",
    "RESET",
    "RESET_REASONS",
    "SessionCandidate",
    "choose_session",
    "failure_action",
    "reuses_chosen",
    "select_copy",
]

#: Reasons of an undecryptable copy that start the reset flow (SESSION-020).
RESET_REASONS = frozenset(
    {"NO_SESSION", "UNKNOWN_PREKEY", "INVALID_MAC", "TOO_MANY_SKIPPED_MESSAGES"}
)

#: The reason of a message from a new sender refused because the pending
#: contacts are full of recent ones (NOBUNDLE-021); it starts no reset.
PENDING_FULL = "PENDING_FULL"

RESET, HELLO, EVENT_ONLY = "RESET", "HELLO", "EVENT_ONLY"
ADDRESSED, NO_BUNDLE, NOT_ADDRESSED, OWN_ENVELOPE = (
    "ADDRESSED",
    "NO_BUNDLE",
    "NOT_ADDRESSED",
    "OWN_ENVELOPE",
)


@dataclass(frozen=True, slots=True)
class SessionCandidate:
    """A session held with a peer installation, as SESSION-010 sees it."""

    session_id: bytes
    initiated: bool
    pending: bool


def choose_session(
    current: SessionCandidate | None, accepted_session_id: bytes, accepted_reset: bool
) -> bytes:
    """The session id of the chosen session once an initial message is accepted.

    The accepted session is chosen (it is the newest), except when the current
    chosen session was initiated here and is still pending: then the smaller
    session id (32 bytes, unsigned, lexicographic) wins, unless the accepted
    message is a RESET, which always wins.
    """
    if current is None or not (current.initiated and current.pending) or accepted_reset:
        return accepted_session_id
    return min(current.session_id, accepted_session_id)


def select_copy(envelope: Envelope, installation_id: bytes) -> tuple[str, int | None]:
    """(selection, index): the first copy for ``installation_id``, else the
    first no-bundle copy, else NOT_ADDRESSED; an own envelope is ignored."""
    if envelope.sender_installation_id == installation_id:
        return OWN_ENVELOPE, None
    fallback = None
    for index, copy in enumerate(envelope.messages):
        if copy.recipient_installation_id == installation_id:
            return ADDRESSED, index
        if copy.recipient_installation_id is None and fallback is None:
            fallback = index
    if fallback is not None:
        return NO_BUNDLE, fallback
    return NOT_ADDRESSED, None


def failure_action(reason: str) -> str:
    """RESET, HELLO or EVENT_ONLY for the reason of an undecryptable copy."""
    if reason in RESET_REASONS:
        return RESET
    if reason == NOT_ADDRESSED:
        return HELLO
    return EVENT_ONLY


def reuses_chosen(action: str, chosen: SessionCandidate | None) -> bool:
    """Whether the RESET or HELLO that ``action`` sends goes in the chosen session
    rather than in a new one (SESSION-020).

    A RESET reuses the chosen session only when this installation started it and it
    is still pending, so a burst of undecryptable messages starts one session; a
    HELLO goes in the chosen session whenever there is one.
    """
    if chosen is None or action not in (RESET, HELLO):
        return False
    return (chosen.initiated and chosen.pending) or action == HELLO
