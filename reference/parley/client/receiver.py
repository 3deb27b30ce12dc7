"""Receiving from a transport: a batch in, one commit, the replies out, then acks.

:func:`receive_batch` is the one receive step that the CLI (``inbox``,
``listen``), ``parley serve`` and bots share::

    while True:
        deliveries = transport.wait(account.installation_id, limit=100)
        for events in receive_batch(account, transport, deliveries):
            ...

Order, and why: the account commits the batch first (one transaction when the
account offers ``receive_many``); then the session-reset envelopes the batch
caused are handed to the transport; only then are the deliveries
acknowledged. A crash before the acknowledgement gives the batch again, and
the account recognises every envelope of it (each is reported again, marked
``redelivered``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .errors import TransportError
from .events import Event, SessionReset, UndecryptableMessage
from .transport import Delivery, Transport

if TYPE_CHECKING:
    from .account import Account

__all__ = ["receive_batch", "reply_envelopes"]


def reply_envelopes(events: Sequence[Event]) -> list[tuple[bytes, bytes]]:
    """The (envelope, recipient account) pairs that events ask to send: the
    RESET or HELLO of a session reset (SESSION-020)."""
    out = []
    for event in events:
        if isinstance(event, UndecryptableMessage) and event.reset_envelope and event.sender:
            out.append((event.reset_envelope, event.sender))
        elif isinstance(event, SessionReset) and event.reply_envelope:
            out.append((event.reply_envelope, event.account))
    return out


def receive_batch(
    account: Account,
    transport: Transport,
    deliveries: Sequence[Delivery],
    *,
    on_commit: Callable[[list[list[Event]]], None] | None = None,
) -> list[list[Event]]:
    """Receive ``deliveries`` (one event list per delivery), send the replies,
    acknowledge. ``on_commit`` runs after the commit and before the acks (an
    application that stores events in the same store commits them itself)."""
    if not deliveries:
        return []
    receive_many = getattr(account, "receive_many", None)
    datas = [d.data for d in deliveries]
    if receive_many is not None:
        results = receive_many(datas)
    else:
        results = [account.receive(data) for data in datas]
    if on_commit is not None:
        on_commit(results)
    replies = [pair for events in results for pair in reply_envelopes(events)]
    if replies:
        # A lost reset is sent again on the peer's next undecryptable message.
        with contextlib.suppress(TransportError):
            transport.deliver_many(replies)
    transport.ack_many(account.installation_id, [d.handle for d in deliveries])
    return results
