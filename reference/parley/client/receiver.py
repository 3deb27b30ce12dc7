"""Receiving from a transport: a batch in, one commit, the replies out, then acks.

:func:`receive_batch` is the one receive step that the CLI (``inbox``,
``listen``), ``parley serve`` and bots share::

    while True:
        deliveries = transport.wait(account.installation_id, limit=100)
        for events in receive_batch(account, transport, deliveries):
            ...

Order, and why: the account commits the batch first (one transaction,
``Account.receive_many``); then the outbox is flushed (the session-reset
envelopes the batch committed there, and anything a crash left); only then
are the deliveries acknowledged. A crash before the acknowledgement gives the batch again, and
the account recognises every envelope of it (each is reported again, marked
``redelivered``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .errors import TransportError
from .events import Event
from .transport import Delivery, Transport

if TYPE_CHECKING:
    from .account import Account

__all__ = ["receive_batch"]


def receive_batch(
    account: Account,
    transport: Transport,
    deliveries: Sequence[Delivery],
    *,
    on_commit: Callable[[list[list[Event]]], None] | None = None,
) -> list[list[Event]]:
    """Receive ``deliveries`` (one event list per delivery), flush the outbox,
    acknowledge. ``on_commit`` runs after the commit and before the acks."""
    if not deliveries:
        return []
    results = account.receive_many([d.data for d in deliveries])
    if on_commit is not None:
        on_commit(results)
    # A transport that fails now leaves the outbox for the next flush.
    with contextlib.suppress(TransportError):
        account.flush_outbox(transport)
    transport.ack_many(account.installation_id, [d.handle for d in deliveries])
    return results
