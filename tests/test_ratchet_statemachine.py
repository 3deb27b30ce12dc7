"""A stateful property test of a whole conversation over a hostile network.

Alice (initiator) and Bob (responder) exchange messages through a network
that delays, reorders, drops, duplicates and corrupts them, while both sides
save and reload their sessions. A model of the Double Ratchet's bookkeeping
(chains, Nr, skipped keys in insertion order, the retired-chain window,
MAX_SKIP and the total cap) predicts the exact outcome of every delivery:

* an original message decrypts exactly once, to its plaintext, when its key
  is held; a second copy raises DUPLICATE_MESSAGE, or INVALID_MAC when its
  chain is older than the retired-chain window;
* a corrupted copy raises a RemoteError;
* after any rejected message, both sessions and Bob's installation are
  unchanged byte for byte;
* the sessions' skipped keys, retired chains and counters match the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from helpers import flip, initiate, make_party
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from parley import errors as E
from parley.codec import decode_ratchet_message
from parley.primitives import DeterministicRandom
from parley.profile import PROFILE_1
from parley.session import Session
from parley.state import dump_identity, dump_installation, load_identity, load_installation

MAX_SKIP = PROFILE_1.max_skip
MAX_SKIPPED = PROFILE_1.max_skipped_keys
MAX_RETIRED = PROFILE_1.max_retired_chains
MAX_IN_FLIGHT = 8
MAX_BURSTS = 4
OK = "ok"


@dataclass
class Message:
    """An original message, as its sender made it."""

    sender: str  # "A" or "B"
    chain: int  # index of the sender's sending chain
    n: int  # N
    pn: int  # PN
    data: bytes
    plaintext: bytes
    delivered: bool = False


@dataclass
class Side:
    """The model of one party's ratchet bookkeeping."""

    # Sending: index of the current sending chain (-1: none yet), Ns, PN.
    send_chain: int
    ns: int = 0
    pn: int = 0
    # Receiving: the peer's chain being read (None: none yet), and Nr.
    recv_chain: int | None = None
    nr: int = 0
    # (peer chain, n) of every held skipped key, oldest first.
    skipped: dict[tuple[int, int], None] = field(default_factory=dict)
    # (peer chain, PN it was retired with), oldest first.
    retired: list[tuple[int, int]] = field(default_factory=list)

    def predict(self, m: Message) -> str | type[E.RemoteError]:
        """RatchetDecrypt's outcome for ``m``: OK or the error class."""
        if (m.chain, m.n) in self.skipped:
            return OK
        if m.chain == self.recv_chain:
            if m.n < self.nr:
                return E.DuplicateMessage
            if m.n - self.nr > MAX_SKIP:
                return E.TooManySkippedMessages
            return OK
        if any(chain == m.chain for chain, _ in self.retired):
            return E.DuplicateMessage
        # A DH ratchet step: skip to PN in the current chain, then to N.
        if self.recv_chain is not None and m.pn - self.nr > MAX_SKIP:
            return E.TooManySkippedMessages
        if m.n > MAX_SKIP:
            return E.TooManySkippedMessages
        expected_next = 0 if self.recv_chain is None else self.recv_chain + 1
        if m.chain == expected_next:
            return OK
        # Only an old chain can be neither current, retired, nor next.
        assert self.recv_chain is not None and m.chain < self.recv_chain
        return E.InvalidMac  # the step derives another chain: the MAC fails

    def accept(self, m: Message) -> bool:
        """Apply a successful decryption of ``m``; True if it was a DH step."""
        slot = (m.chain, m.n)
        if slot in self.skipped:
            del self.skipped[slot]
            return False
        if m.chain == self.recv_chain:
            self._keep([(m.chain, i) for i in range(self.nr, m.n)])
            self.nr = m.n + 1
            return False
        new = []
        if self.recv_chain is not None:
            new = [(self.recv_chain, i) for i in range(self.nr, m.pn)]
            self.retired.append((self.recv_chain, m.pn))
            del self.retired[:-MAX_RETIRED]
        self._keep(new + [(m.chain, i) for i in range(m.n)])
        self.recv_chain, self.nr = m.chain, m.n + 1
        self.pn, self.send_chain, self.ns = self.ns, self.send_chain + 1, 0
        return True

    def _keep(self, slots: list[tuple[int, int]]) -> None:
        for slot in slots:
            self.skipped[slot] = None
        excess = len(self.skipped) - MAX_SKIPPED
        if excess > 0:
            event("skipped keys evicted")
        for slot in list(self.skipped)[: max(excess, 0)]:
            del self.skipped[slot]


class Conversation(RuleBasedStateMachine):
    @initialize(seed=st.binary(min_size=1, max_size=8), use_opk=st.booleans())
    def start(self, seed: bytes, use_opk: bool) -> None:
        self.rng = DeterministicRandom(seed)
        self.alice = make_party("alice", self.rng)
        self.bob = make_party("bob", self.rng, one_time_prekeys=2 if use_opk else 0)
        opk_id = self.bob.bundle.installations[0].one_time_prekeys[0][0] if use_opk else None
        self.a = initiate(self.alice, self.bob, self.rng, one_time_prekey_id=opk_id)
        self.b: Session | None = None
        self.model = {"A": Side(send_chain=0), "B": Side(send_chain=-1)}
        # The ratchet public key of each sending chain, by (party, chain).
        self.chain_keys = {("A", 0): self.a.ratchet.sending_ratchet.public}
        self.alice_pending = True
        self.in_flight: list[Message] = []
        self.delivered: list[Message] = []
        self.counter = 0
        self.bursts = 0

    # -- helpers ---------------------------------------------------------------

    def session(self, party: str) -> Session | None:
        return self.a if party == "A" else self.b

    def snapshot(self) -> tuple[bytes, bytes | None, bytes]:
        return (
            self.a.to_bytes(),
            self.b.to_bytes() if self.b is not None else None,
            dump_installation(self.bob.installation),
        )

    def send(self, sender: str) -> Message:
        session, side = self.session(sender), self.model[sender]
        self.counter += 1
        plaintext = b"%s%d" % (sender.encode(), self.counter)
        data = session.encrypt(plaintext)
        decoded = decode_ratchet_message(data)
        header = decoded.header
        assert (header.message_number, header.previous_chain_length) == (side.ns, side.pn)
        assert header.ratchet_key == self.chain_keys[(sender, side.send_chain)]
        # X3DH-020: Alice's messages carry the X3DH header until she reads a reply.
        assert (decoded.x3dh_header is not None) == (sender == "A" and self.alice_pending)
        message = Message(sender, side.send_chain, side.ns, side.pn, data, plaintext)
        side.ns += 1
        return message

    def receive(self, receiver: str, data: bytes) -> bytes:
        if receiver == "A":
            return self.a.decrypt(data, self.rng)
        if self.b is None:
            self.b, plaintext = Session.respond(
                self.bob.identity,
                self.bob.installation,
                data,
                self.alice.installation_id,
                rng=self.rng,
            )
            return plaintext
        return self.b.decrypt(data, self.rng)

    def deliver(self, m: Message) -> str | type[E.RemoteError]:
        """Deliver an original message; check the outcome against the model."""
        receiver = "B" if m.sender == "A" else "A"
        side = self.model[receiver]
        expected = side.predict(m)
        if receiver == "B" and self.b is not None:
            assert self.b.accepts(decode_ratchet_message(m.data))
        before = self.snapshot()
        try:
            plaintext = self.receive(receiver, m.data)
        except E.ParleyError as error:
            assert type(error) is expected, (repr(error), expected, m)
            assert self.snapshot() == before  # RATCHET-040
            return expected
        assert expected == OK, (expected, m)
        assert plaintext == m.plaintext
        assert not m.delivered  # exactly once
        m.delivered = True
        self.delivered.append(m)
        if side.accept(m):  # a DH step: a new sending chain
            session = self.session(receiver)
            self.chain_keys[(receiver, side.send_chain)] = session.ratchet.sending_ratchet.public
        if receiver == "A":
            self.alice_pending = False
        return OK

    # -- rules -----------------------------------------------------------------

    @precondition(lambda self: len(self.in_flight) < MAX_IN_FLIGHT)
    @rule()
    def send_from_alice(self) -> None:
        self.in_flight.append(self.send("A"))

    @precondition(lambda self: self.b is not None and len(self.in_flight) < MAX_IN_FLIGHT)
    @rule()
    def send_from_bob(self) -> None:
        self.in_flight.append(self.send("B"))

    @precondition(lambda self: self.b is not None)
    @rule()
    def ratchet_turn(self) -> None:
        """Bob writes, Alice reads, Alice writes, Bob reads: one DH step each."""
        for sender in "BA":
            message = self.send(sender)
            if self.deliver(message) != OK:  # after a lost burst: MAX_SKIP
                self.in_flight.append(message)

    @precondition(
        lambda self: (
            self.b is not None and self.bursts < MAX_BURSTS and len(self.in_flight) < MAX_IN_FLIGHT
        )
    )
    @rule(
        from_bob=st.booleans(),
        count=st.sampled_from([300, 700, 1000, 1001, 1002]),
    )
    def send_burst_mostly_lost(self, from_bob: bool, count: int) -> None:
        """Many messages of which only the last arrives: exercises MAX_SKIP and
        the total cap on skipped keys."""
        sender = "B" if from_bob else "A"
        self.bursts += 1
        for _ in range(count - 1):
            self.send(sender)
        self.in_flight.append(self.send(sender))

    @precondition(lambda self: self.in_flight)
    @rule(index=st.integers(0, MAX_IN_FLIGHT - 1))
    def deliver_in_flight(self, index: int) -> None:
        m = self.in_flight.pop(index % len(self.in_flight))
        outcome = self.deliver(m)
        event(f"deliver: {getattr(outcome, 'code', outcome)}")
        if outcome is E.TooManySkippedMessages:
            self.in_flight.append(m)  # not decryptable now; it may be retried

    @precondition(lambda self: self.delivered)
    @rule(index=st.integers(0, 1000))
    def redeliver(self, index: int) -> None:
        m = self.delivered[index % len(self.delivered)]
        outcome = self.deliver(m)
        event(f"redeliver: {outcome.code}")
        allowed = {E.DuplicateMessage, E.InvalidMac}
        if self.bursts:  # an old chain's copy with N or PN beyond MAX_SKIP
            allowed.add(E.TooManySkippedMessages)
        assert outcome in allowed, outcome

    @precondition(lambda self: self.in_flight)
    @rule(index=st.integers(0, MAX_IN_FLIGHT - 1))
    def drop(self, index: int) -> None:
        self.in_flight.pop(index % len(self.in_flight))

    @precondition(lambda self: self.in_flight or self.delivered)
    @rule(
        index=st.integers(0, 1000),
        position=st.integers(0, 10_000),
        mask=st.integers(1, 255),
    )
    def tamper(self, index: int, position: int, mask: int) -> None:
        pool = self.in_flight + self.delivered
        m = pool[index % len(pool)]
        forged = flip(m.data, position % len(m.data), mask)
        receiver = "B" if m.sender == "A" else "A"
        before = self.snapshot()
        with pytest.raises(E.RemoteError) as info:
            self.receive(receiver, forged)
        event(f"tamper: {info.value.code}")
        assert self.snapshot() == before  # RATCHET-040

    @rule()
    def save_and_load(self) -> None:
        data = self.a.to_bytes()
        self.a = Session.from_bytes(data)
        assert self.a.to_bytes() == data
        if self.b is not None:
            data = self.b.to_bytes()
            self.b = Session.from_bytes(data)
            assert self.b.to_bytes() == data
        data = dump_installation(self.bob.installation)
        self.bob.installation = load_installation(data)
        assert dump_installation(self.bob.installation) == data
        identity = load_identity(dump_identity(self.bob.identity))
        assert identity.public == self.bob.identity.public
        self.bob.identity = identity

    # -- invariants ------------------------------------------------------------

    @invariant()
    def sessions_match_the_model(self) -> None:
        if not hasattr(self, "model"):
            return
        assert (self.a.pending_x3dh is None) == (not self.alice_pending)
        for party in "AB":
            session, side = self.session(party), self.model[party]
            if session is None:
                assert party == "B" and side.recv_chain is None
                continue
            peer = "B" if party == "A" else "A"
            r = session.ratchet
            assert r.sending_chain.index == side.ns
            assert r.previous_sending_chain_length == side.pn
            assert r.sending_ratchet.public == self.chain_keys[(party, side.send_chain)]
            assert r.receiving_ratchet_key == self.chain_keys.get((peer, side.recv_chain))
            assert (r.receiving_chain.index if r.receiving_chain else 0) == side.nr
            assert list(r.skipped) == [
                (self.chain_keys[(peer, chain)], n) for chain, n in side.skipped
            ]
            assert r.retired_chains == [
                (self.chain_keys[(peer, chain)], pn) for chain, pn in side.retired
            ]

    @invariant()
    def undelivered_messages_stay_decryptable(self) -> None:
        """Without bursts (gaps stay far below MAX_SKIP and the cap), every
        message in flight is still decryptable."""
        if not hasattr(self, "model") or self.bursts:
            return
        for m in self.in_flight:
            assert self.model["B" if m.sender == "A" else "A"].predict(m) == OK, m


Conversation.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestConversation = pytest.mark.requirement(
    "RATCHET-021",
    "RATCHET-031",
    "RATCHET-032",
    "RATCHET-033",
    "RATCHET-034",
    "RATCHET-035",
    "RATCHET-036",
    "RATCHET-040",
    "ERR-002",
    "X3DH-020",
    "X3DH-021",
    "STORE-010",
)(Conversation.TestCase)
