"""The Double Ratchet (spec: ratchet.md; Signal's "The Double Ratchet Algorithm").

State variables keep Signal's names in their docs: DHs (our ratchet key
pair), DHr (the peer's ratchet key), RK, CKs, CKr, Ns, Nr (the chain keys'
indexes) and PN.

Decryption is transactional (RATCHET-040): every new value is computed in
local variables and assigned to the state only after the MAC has verified,
so a rejected message leaves the state exactly as it was.
"""

from __future__ import annotations

from .codec import RatchetHeader, encode_ratchet_header
from .errors import DuplicateMessage, SessionStateError, TooManySkippedMessages
from .primitives import DHKeyPair, Random, x25519
from .profile import Profile

__all__ = ["ChainKey", "DoubleRatchet", "MessageKey", "RootKey", "SkipBudget"]


class MessageKey:
    """A message key mk, with the index of its message in the chain."""

    __slots__ = ("index", "key")

    def __init__(self, key: bytes, index: int) -> None:
        self.key = key
        self.index = index

    def __repr__(self) -> str:
        return f"MessageKey(index={self.index})"


class ChainKey:
    """A sending or receiving chain key CK. ``index`` is Ns or Nr."""

    __slots__ = ("index", "key")

    def __init__(self, key: bytes, index: int = 0) -> None:
        self.key = key
        self.index = index

    def next(self, profile: Profile) -> tuple[ChainKey, MessageKey]:
        """KDF_CK: the next chain key, and the message key of this index."""
        chain_key, message_key = profile.kdf_ck(self.key)
        return ChainKey(chain_key, self.index + 1), MessageKey(message_key, self.index)

    def __repr__(self) -> str:
        return f"ChainKey(index={self.index})"


class RootKey:
    """The root key RK."""

    __slots__ = ("key",)

    def __init__(self, key: bytes) -> None:
        self.key = key

    def advance(self, profile: Profile, dh_out: bytes) -> tuple[RootKey, ChainKey]:
        """KDF_RK: the next root key and a new chain key."""
        root_key, chain_key = profile.kdf_rk(self.key, dh_out)
        return RootKey(root_key), ChainKey(chain_key)

    def __repr__(self) -> str:
        return "RootKey(...)"


SkippedKeys = dict[tuple[bytes, int], bytes]


#: Message numbers N and PN are uint32 (RATCHET-020): the last one a chain may
#: send with is MAX_MESSAGE_NUMBER - 1, so that its saved index still fits.
MAX_MESSAGE_NUMBER = 0xFFFFFFFF


class SkipBudget:
    """How many message keys one received message may still make us derive to
    skip, over every session it is tried in (SESSION-011)."""

    __slots__ = ("remaining",)

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    def spend(self, count: int) -> None:
        if count > self.remaining:
            raise TooManySkippedMessages(
                f"message would skip {count} more keys; {self.remaining} remain of the "
                "bound for one message"
            )
        self.remaining -= count


class DoubleRatchet:
    """One side of a Double Ratchet session.

    ``associated_data`` is AD from X3DH (X3DH-030); the transmitted header
    bytes are appended to it for every message (RATCHET-013).
    """

    __slots__ = (
        "associated_data",
        "previous_sending_chain_length",
        "profile",
        "receiving_chain",
        "receiving_ratchet_key",
        "retired_chains",
        "root_key",
        "sending_chain",
        "sending_ratchet",
        "skipped",
        "version",
    )

    def __init__(
        self,
        profile: Profile,
        version: int,
        associated_data: bytes,
        root_key: RootKey,
        sending_ratchet: DHKeyPair,
        sending_chain: ChainKey | None = None,
        receiving_ratchet_key: bytes | None = None,
        receiving_chain: ChainKey | None = None,
        previous_sending_chain_length: int = 0,
        skipped: SkippedKeys | None = None,
        retired_chains: list[tuple[bytes, int]] | None = None,
    ) -> None:
        self.profile = profile
        self.version = version
        self.associated_data = associated_data
        self.root_key = root_key
        self.sending_ratchet = sending_ratchet
        self.sending_chain = sending_chain
        self.receiving_ratchet_key = receiving_ratchet_key
        self.receiving_chain = receiving_chain
        self.previous_sending_chain_length = previous_sending_chain_length
        self.skipped: SkippedKeys = skipped if skipped is not None else {}
        self.retired_chains: list[tuple[bytes, int]] = retired_chains or []

    # -- initialisation (RATCHET-001, RATCHET-002) -------------------------

    @classmethod
    def initiator(
        cls,
        profile: Profile,
        version: int,
        shared_key: bytes,
        responder_ratchet_key: bytes,
        associated_data: bytes,
        rng: Random,
    ) -> DoubleRatchet:
        """RatchetInitAlice(SK, SPK_B): a first sending chain from DH(DHs, SPK_B)."""
        sending_ratchet = DHKeyPair.generate(rng)
        root_key, sending_chain = RootKey(shared_key).advance(
            profile, x25519(sending_ratchet, responder_ratchet_key)
        )
        return cls(profile, version, associated_data, root_key, sending_ratchet, sending_chain)

    @classmethod
    def responder(
        cls,
        profile: Profile,
        version: int,
        shared_key: bytes,
        signed_prekey: DHKeyPair,
        associated_data: bytes,
    ) -> DoubleRatchet:
        """RatchetInitBob(SK, SPK_B key pair): no chain until the first message."""
        return cls(profile, version, associated_data, RootKey(shared_key), signed_prekey)

    # -- sending -------------------------------------------------------------

    def encrypt(self, plaintext: bytes, extra_header: bytes = b"") -> tuple[bytes, bytes, bytes]:
        """RatchetEncrypt: return (header bytes, ciphertext, mac).

        ``extra_header`` (the encoded X3DH header, if any) is covered by the MAC.

        The advanced chain key replaces the old one before the ciphertext is
        returned, so a message key is never used twice (RATCHET-021).
        """
        chain = self.sending_chain
        if chain is None:
            raise SessionStateError("no sending chain yet: receive the peer's first message")
        if chain.index >= MAX_MESSAGE_NUMBER:
            # N is a uint32 on the wire and at rest: this chain has no number left.
            raise SessionStateError(
                f"the sending chain has used every message number (up to {MAX_MESSAGE_NUMBER}):"
                " start a new session"
            )
        next_chain, message_key = chain.next(self.profile)
        header = encode_ratchet_header(
            self.version,
            self.sending_ratchet.public,
            self.previous_sending_chain_length,
            message_key.index,
        )
        ciphertext, mac = self.profile.encrypt(
            message_key.key, plaintext, self.associated_data, header, extra_header
        )
        self.sending_chain = next_chain
        return header, ciphertext, mac

    # -- receiving -----------------------------------------------------------

    def decrypt(
        self,
        header: RatchetHeader,
        ciphertext: bytes,
        mac: bytes,
        rng: Random,
        extra_header: bytes = b"",
        budget: SkipBudget | None = None,
    ) -> bytes:
        """RatchetDecrypt, transactional (RATCHET-040).

        ``budget``, shared by the sessions one message is tried in, bounds the
        message keys derived to skip (SESSION-011); the work it paid for stays
        paid when the message then fails.
        """
        profile = self.profile
        ratchet_key = header.ratchet_key
        number = header.message_number
        skipped = self.skipped

        # 1. A key kept for a message that arrived late (RATCHET-031).
        if skipped:
            slot = (ratchet_key, number)
            message_key = skipped.get(slot)
            if message_key is not None:
                plaintext = profile.decrypt(
                    message_key, ciphertext, mac, self.associated_data, header.raw, extra_header
                )
                del skipped[slot]  # used once, then deleted (RATCHET-032)
                return plaintext

        # 2. The current receiving chain.
        chain = self.receiving_chain
        if chain is not None and ratchet_key == self.receiving_ratchet_key:
            if number < chain.index:
                raise DuplicateMessage("no key is held for this message number")
            new_skipped = (
                self._skip(chain, number, ratchet_key, budget) if number > chain.index else None
            )
            if new_skipped:
                chain = new_skipped[-1][2]
            next_chain, message_key = chain.next(profile)
            plaintext = profile.decrypt(
                message_key.key, ciphertext, mac, self.associated_data, header.raw, extra_header
            )
            self.receiving_chain = next_chain
            if new_skipped:
                self._keep_skipped(new_skipped)
            return plaintext

        # 3. A chain this session already left behind.
        for retired_key, _length in self.retired_chains:
            if retired_key == ratchet_key:
                raise DuplicateMessage("no key is held for this message of a retired chain")

        # 4. A new ratchet key: a DH ratchet step (RATCHET-033).
        old_skipped = (
            self._skip(chain, header.previous_chain_length, self.receiving_ratchet_key, budget)
            if chain is not None
            else []
        )
        root_key, new_chain = self.root_key.advance(
            profile, x25519(self.sending_ratchet, ratchet_key)
        )
        new_skipped = self._skip(new_chain, number, ratchet_key, budget)
        if new_skipped:
            new_chain = new_skipped[-1][2]
        next_chain, message_key = new_chain.next(profile)
        plaintext = profile.decrypt(
            message_key.key, ciphertext, mac, self.associated_data, header.raw, extra_header
        )
        # The MAC verified: finish the step with a new sending chain, then commit.
        sending_ratchet = DHKeyPair.generate(rng)
        root_key, sending_chain = root_key.advance(profile, x25519(sending_ratchet, ratchet_key))
        if self.receiving_ratchet_key is not None:
            retired = self.retired_chains
            retired.append((self.receiving_ratchet_key, header.previous_chain_length))
            if len(retired) > profile.max_retired_chains:
                del retired[0]
        self.previous_sending_chain_length = (
            self.sending_chain.index if self.sending_chain is not None else 0
        )
        self.sending_ratchet = sending_ratchet
        self.sending_chain = sending_chain
        self.receiving_ratchet_key = ratchet_key
        self.receiving_chain = next_chain
        self.root_key = root_key
        if old_skipped or new_skipped:
            self._keep_skipped(old_skipped + new_skipped)
        return plaintext

    def _skip(
        self,
        chain: ChainKey,
        until: int,
        ratchet_key: bytes | None,
        budget: SkipBudget | None = None,
    ) -> list[tuple[tuple[bytes, int], bytes, ChainKey]]:
        """SkipMessageKeys without side effects: the keys of messages
        chain.index .. until-1, each with the chain key that follows it."""
        if until <= chain.index:
            return []
        if until - chain.index > self.profile.max_skip:
            raise TooManySkippedMessages(
                f"message would skip {until - chain.index} keys (MAX_SKIP {self.profile.max_skip})"
            )
        if budget is not None:
            budget.spend(until - chain.index)
        out = []
        profile = self.profile
        while chain.index < until:
            chain, message_key = chain.next(profile)
            out.append(((ratchet_key, message_key.index), message_key.key, chain))
        return out

    def _keep_skipped(self, new: list[tuple[tuple[bytes, int], bytes, ChainKey]]) -> None:
        """Store skipped keys, evicting the oldest beyond the total cap (RATCHET-035)."""
        skipped = self.skipped
        for slot, key, _chain in new:
            skipped[slot] = key
        excess = len(skipped) - self.profile.max_skipped_keys
        if excess > 0:
            for slot in list(skipped)[:excess]:
                del skipped[slot]

    def __repr__(self) -> str:
        return (
            f"DoubleRatchet(Ns={self.sending_chain.index if self.sending_chain else None}, "
            f"Nr={self.receiving_chain.index if self.receiving_chain else None}, "
            f"PN={self.previous_sending_chain_length}, skipped={len(self.skipped)})"
        )
