"""A short conversation between two parties, printed step by step.

Run with ``python -m parley.demo`` (``make demo``). Deterministic: the same
seed prints the same bytes on every run and every machine.
"""

from __future__ import annotations

import sys

from . import Bundle, DeterministicRandom, IdentityKeyPair, InstallationKeys, InstallationPreKeys
from .errors import RemoteError
from .no_bundle import open_no_bundle, seal_no_bundle
from .session import Session

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z; the clock is an input


def short(data: bytes) -> str:
    return data.hex()[:16] + "..."


def main(seed: bytes = b"parley demo") -> int:
    rng = DeterministicRandom(seed)
    say = print

    say("== Two accounts, one installation each")
    alice, bob = IdentityKeyPair.generate(rng), IdentityKeyPair.generate(rng)
    alice_dev = InstallationKeys.generate(rng, NOW)
    bob_dev = InstallationKeys.generate(rng, NOW)
    say(f"alice {short(alice.public.signing_key)} installation {alice_dev.installation_id.hex()}")
    say(f"bob   {short(bob.public.signing_key)} installation {bob_dev.installation_id.hex()}")

    say("\n== Alice has no bundle of Bob yet: a first message that is NOT forward secret")
    sealed = seal_no_bundle(
        alice, alice_dev.installation_id, bob.public, b"hi Bob, it's Alice", rng=rng
    )
    opened = open_no_bundle(bob, sealed, alice_dev.installation_id)
    say(
        f"bob reads {opened.plaintext!r} (forward_secret={opened.forward_secret}, "
        f"{len(sealed)} bytes)"
    )

    say("\n== Bob answers with his signed bundle (it travels in the message, no server)")
    bundle_bytes = Bundle.create(bob, [InstallationPreKeys.of(bob_dev)], NOW).to_bytes()
    bundle = Bundle.from_bytes(bundle_bytes)
    bundle.verify(NOW + 60)
    say(f"bundle: {len(bundle_bytes)} bytes, signed at {bundle.timestamp}, verified a minute later")

    say("\n== Alice starts a forward-secret session (X3DH) and sends three messages")
    a = Session.initiate(
        alice, alice_dev.installation_id, bundle, bob_dev.installation_id, now=NOW + 60, rng=rng
    )
    sent = [a.encrypt(text) for text in (b"one", b"two", b"three")]
    for i, m in enumerate(sent):
        say(f"alice -> #{i} {len(m)} bytes (carries the X3DH header)")

    say("\n== The network delivers them out of order: #2, #0, #1")
    b, first = Session.respond(bob, bob_dev, sent[2], alice_dev.installation_id, rng=rng)
    say(
        f"bob   <- #2 {first!r}: session created; keys for #0 and #1 kept as skipped keys "
        f"({len(b.ratchet.skipped)})"
    )
    for i in (0, 1):
        say(f"bob   <- #{i} {b.decrypt(sent[i], rng)!r} (skipped key used, then deleted)")

    say("\n== A duplicate and a forgery are rejected; Bob's state does not change")
    before = b.to_bytes()
    try:
        b.decrypt(sent[1], rng)
    except RemoteError as exc:
        say(f"bob   <- #1 again: {type(exc).__name__} [{exc.code}]")
    forged = bytearray(a.encrypt(b"four"))
    forged[-1] ^= 1
    try:
        b.decrypt(bytes(forged), rng)
    except RemoteError as exc:
        say(f"bob   <- forged #3: {type(exc).__name__} [{exc.code}]")
    say(f"bob's state unchanged: {b.to_bytes() == before}")

    say("\n== Ratchet turns: every reply is a Diffie-Hellman ratchet step")
    for turn in range(3):
        reply = b.encrypt(b"bob %d" % turn)
        say(
            f"bob   -> alice: {a.decrypt(reply, rng)!r} (alice's X3DH header: "
            f"{'still sent' if a.pending_x3dh else 'no longer sent'})"
        )
        msg = a.encrypt(b"alice %d" % turn)
        say(f"alice -> bob:   {b.decrypt(msg, rng)!r}")

    say("\n== Sessions survive a restart: saved, loaded, and the conversation goes on")
    state = a.to_bytes()
    a = Session.from_bytes(state)
    say(f"alice's session: {len(state)} bytes saved and loaded")
    say(f"alice -> bob:   {b.decrypt(a.encrypt(b'after restart'), rng)!r}")
    say("\ndone: every message decrypted once, forgeries and duplicates rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
