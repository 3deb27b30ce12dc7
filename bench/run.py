"""Parley's benchmarks: each workload against its floor, measured in one run.

The floor of a workload is the same cryptographic work written as a minimal
straight-line sequence of bare pyca/cryptography calls: no validation, no
rollback copy, no encoding. The ratio Parley / floor is what the goals bound;
both sides are timed in alternating rounds and the best round of each is
kept, so load on a shared machine affects both alike.

Usage: python bench/run.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from parley.bundle import Bundle, InstallationPreKeys
from parley.keys import IdentityKeyPair, InstallationKeys
from parley.primitives import SystemRandom
from parley.session import Session

NOW = 1_700_000_000
RNG = SystemRandom()
SHA256 = hashes.SHA256()
ZERO32 = bytes(32)
F = b"\xff" * 32
PLAINTEXT = os.urandom(1024)


# -- the floor: bare pyca/cryptography calls -----------------------------------


def f_kdf_ck(ck: bytes) -> tuple[bytes, bytes]:
    h = hmac.HMAC(ck, SHA256)
    h.update(b"\x02")
    nck = h.finalize()
    h = hmac.HMAC(ck, SHA256)
    h.update(b"\x01")
    return nck, h.finalize()


def f_kdf_rk(rk: bytes, dh_out: bytes) -> tuple[bytes, bytes]:
    out = HKDF(SHA256, 64, rk, b"Parley ratchet v1").derive(dh_out)
    return out[:32], out[32:]


def f_encrypt(mk: bytes, pt: bytes, ad: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(SHA256, 80, ZERO32, b"Parley message keys v1").derive(mk)
    p = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES256(okm[:32]), modes.CBC(okm[64:])).encryptor()
    ct = enc.update(p.update(pt) + p.finalize()) + enc.finalize()
    h = hmac.HMAC(okm[32:64], SHA256)
    h.update(ad + ct)
    return ct, h.finalize()


def f_decrypt(mk: bytes, ct: bytes, tag: bytes, ad: bytes) -> bytes:
    okm = HKDF(SHA256, 80, ZERO32, b"Parley message keys v1").derive(mk)
    h = hmac.HMAC(okm[32:64], SHA256)
    h.update(ad + ct)
    h.verify(tag)
    dec = Cipher(algorithms.AES256(okm[:32]), modes.CBC(okm[64:])).decryptor()
    u = padding.PKCS7(128).unpadder()
    return u.update(dec.update(ct) + dec.finalize()) + u.finalize()


def f_dh(priv: X25519PrivateKey, pub: bytes) -> bytes:
    return priv.exchange(X25519PublicKey.from_public_bytes(pub))


class FloorParty:
    """One party's ratchet state as bare variables."""

    def __init__(self) -> None:
        self.priv = X25519PrivateKey.generate()
        self.pub = self.priv.public_key().public_bytes_raw()
        self.rk = b""
        self.cks = b""
        self.ckr = b""


class FloorPair:
    """Two parties' Double Ratchet state as bare variables."""

    def __init__(self) -> None:
        self.ad = os.urandom(160)
        a, b = FloorParty(), FloorParty()
        root = os.urandom(32)
        # A took a sending step against B's key; B still holds the old root.
        a.rk, a.cks = f_kdf_rk(root, f_dh(a.priv, b.pub))
        b.rk = root
        self.sender, self.receiver = a, b
        # A chain for in-order traffic: the same key on both sides.
        self.ck_a = self.ck_b = os.urandom(32)

    def in_order(self) -> None:
        self.ck_a, mk = f_kdf_ck(self.ck_a)
        ct, tag = f_encrypt(mk, PLAINTEXT, self.ad)
        self.ck_b, mk = f_kdf_ck(self.ck_b)
        f_decrypt(mk, ct, tag, self.ad)

    def ping(self) -> None:
        """One message that makes its receiver take a DH ratchet step; then roles swap."""
        s, r = self.sender, self.receiver
        s.cks, mk = f_kdf_ck(s.cks)
        ct, tag = f_encrypt(mk, PLAINTEXT, self.ad)
        # Receiver: receiving step, decrypt, then its sending step.
        rk, ckr = f_kdf_rk(r.rk, f_dh(r.priv, s.pub))
        r.ckr, mk = f_kdf_ck(ckr)
        f_decrypt(mk, ct, tag, self.ad)
        r.priv = X25519PrivateKey.generate()
        r.pub = r.priv.public_key().public_bytes_raw()
        r.rk, r.cks = f_kdf_rk(rk, f_dh(r.priv, s.pub))
        self.sender, self.receiver = r, s


def floor_reverse(count: int) -> None:
    ad = os.urandom(160)
    ck = os.urandom(32)
    sent = []
    cks = ck
    for _ in range(count):
        cks, mk = f_kdf_ck(cks)
        sent.append(f_encrypt(mk, PLAINTEXT, ad))
    keys = {}
    ckr = ck
    for n in range(count):
        ckr, mk = f_kdf_ck(ckr)
        keys[n] = mk
    for n in reversed(range(count)):
        ct, tag = sent[n]
        f_decrypt(keys.pop(n), ct, tag, ad)


def floor_handshake(
    bob_sig: Ed25519PrivateKey,
    bundle_msg: bytes,
    bundle_sig: bytes,
    binding_msg: bytes,
    binding_sig: bytes,
    a_binding_sig: bytes,
    ik_a: X25519PrivateKey,
    ik_b: X25519PrivateKey,
    spk_b: X25519PrivateKey,
    ik_a_pub: bytes,
    ik_b_pub: bytes,
    spk_b_pub: bytes,
    a_sig_pub,
    ad: bytes,
) -> None:
    # Initiator: verify Bob's identity binding and bundle signature.
    bob_pub = bob_sig.public_key()
    bob_pub.verify(binding_sig, binding_msg)
    bob_pub.verify(bundle_sig, bundle_msg)
    ek = X25519PrivateKey.generate()
    ek_pub = ek.public_key().public_bytes_raw()
    dh = f_dh(ik_a, spk_b_pub) + f_dh(ek, ik_b_pub) + f_dh(ek, spk_b_pub)
    sk = HKDF(SHA256, 32, ZERO32, b"Parley X3DH v1").derive(F + dh)
    dhs = X25519PrivateKey.generate()
    dhs_pub = dhs.public_key().public_bytes_raw()
    rk, ck = f_kdf_rk(sk, f_dh(dhs, spk_b_pub))
    ck, mk = f_kdf_ck(ck)
    ct, tag = f_encrypt(mk, b"hello", ad)
    # Responder: verify Alice's identity binding, X3DH, decrypt (DH ratchet step).
    a_sig_pub.verify(a_binding_sig, binding_msg)  # same cost as verifying Alice's binding
    dh = f_dh(spk_b, ik_a_pub) + f_dh(ik_b, ek_pub) + f_dh(spk_b, ek_pub)
    sk = HKDF(SHA256, 32, ZERO32, b"Parley X3DH v1").derive(F + dh)
    rk, ckr = f_kdf_rk(sk, f_dh(spk_b, dhs_pub))
    ckr, mk = f_kdf_ck(ckr)
    f_decrypt(mk, ct, tag, ad)
    nd = X25519PrivateKey.generate()
    nd.public_key().public_bytes_raw()
    f_kdf_rk(rk, f_dh(nd, dhs_pub))


def floor_load(private: bytes) -> None:
    key = X25519PrivateKey.from_private_bytes(private)
    key.public_key().public_bytes_raw()


# -- Parley ------------------------------------------------------------------------


class Parties:
    def __init__(self) -> None:
        self.alice = IdentityKeyPair.generate(RNG)
        self.bob = IdentityKeyPair.generate(RNG)
        self.alice_inst = InstallationKeys.generate(RNG, NOW)
        self.bob_inst = InstallationKeys.generate(RNG, NOW)
        self.bundle = Bundle.create(self.bob, [InstallationPreKeys.of(self.bob_inst)], NOW)

    def handshake(self) -> tuple[Session, Session]:
        a = Session.initiate(
            self.alice,
            self.alice_inst.installation_id,
            self.bundle,
            self.bob_inst.installation_id,
            now=NOW,
            rng=RNG,
        )
        first = a.encrypt(b"hello")
        self.bob_inst.seen_initial_messages.clear()  # keep the replay guard small
        b, _ = Session.respond(
            self.bob, self.bob_inst, first, self.alice_inst.installation_id, rng=RNG
        )
        return a, b

    def established(self) -> tuple[Session, Session]:
        a, b = self.handshake()
        a.decrypt(b.encrypt(b"reply"), RNG)
        return a, b


def best(fn: Callable[[], object], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations


def compare(
    parley: Callable[[], object], floor: Callable[[], object], iterations: int, rounds: int
) -> tuple[float, float]:
    p_best = f_best = float("inf")
    for _ in range(rounds):
        p_best = min(p_best, best(parley, iterations))
        f_best = min(f_best, best(floor, iterations))
    return p_best, f_best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    scale = 0.1 if args.quick else 1.0
    rounds = 3 if args.quick else 7

    def n(x: int) -> int:
        return max(1, int(x * scale))

    results = []

    def report(name: str, unit: str, parley_s: float, floor_s: float, goal: float | None) -> None:
        ratio = parley_s / floor_s
        ok = "" if goal is None else ("ok" if ratio <= goal else "ABOVE GOAL")
        results.append(
            {
                "workload": name,
                "parley_us": parley_s * 1e6,
                "floor_us": floor_s * 1e6,
                "ratio": ratio,
                "goal": goal,
                "per": unit,
            }
        )
        goal_s = f"<= {goal:.2f}x" if goal else "-"
        print(
            f"{name:<34} {parley_s * 1e6:>10.1f} us {floor_s * 1e6:>10.1f} us "
            f"{ratio:>7.2f}x  {goal_s:>9} {ok}  ({1 / parley_s:,.0f} {unit}/s)"
        )

    print(f"{'workload':<34} {'parley':>13} {'floor':>13} {'ratio':>8}  {'goal':>9}")

    # X3DH handshake: initiate + first message + respond (which decrypts it).
    parties = Parties()
    bob_sig = Ed25519PrivateKey.generate()
    a_sig = Ed25519PrivateKey.generate()
    binding_msg = b"Parley identity binding v1\x01" + os.urandom(32)
    bundle_msg = os.urandom(120)
    fl_args = (
        bob_sig,
        bundle_msg,
        bob_sig.sign(bundle_msg),
        binding_msg,
        bob_sig.sign(binding_msg),
        a_sig.sign(binding_msg),
        X25519PrivateKey.generate(),
        X25519PrivateKey.generate(),
        X25519PrivateKey.generate(),
        os.urandom(32),
        os.urandom(32),
        os.urandom(32),
        a_sig.public_key(),
        os.urandom(160),
    )
    # Public keys of the floor must match their private keys for DH to be real work.
    ik_a, ik_b, spk_b = fl_args[6], fl_args[7], fl_args[8]
    fl_args = (
        *fl_args[:9],
        ik_a.public_key().public_bytes_raw(),
        ik_b.public_key().public_bytes_raw(),
        spk_b.public_key().public_bytes_raw(),
        *fl_args[12:],
    )
    p, f = compare(parties.handshake, lambda: floor_handshake(*fl_args), n(300), rounds)
    report("X3DH handshake (both sides)", "handshakes", p, f, 1.3)

    # In-order 1 KiB messages in one chain.
    a, b = parties.established()
    fp = FloorPair()

    def parley_in_order() -> None:
        b.decrypt(a.encrypt(PLAINTEXT), RNG)

    p, f = compare(parley_in_order, fp.in_order, n(5000), rounds)
    report("in-order 1 KiB (enc + dec)", "messages", p, f, 1.4)

    # Ping-pong: every message makes the receiver take a DH ratchet step.
    a, b = parties.established()
    turn = [a, b]

    def parley_ping() -> None:
        sender, receiver = turn
        receiver.decrypt(sender.encrypt(PLAINTEXT), RNG)
        turn.reverse()

    p, f = compare(parley_ping, fp.ping, n(1000), rounds)
    report("ping-pong 1 KiB (DH step each)", "messages", p, f, 1.25)

    # 100 messages delivered in reverse order (per message).
    def parley_reverse() -> None:
        a, b = parties.established()
        sent = [a.encrypt(PLAINTEXT) for _ in range(100)]
        for message in reversed(sent):
            b.decrypt(message, RNG)

    def floor_rev() -> None:
        floor_reverse(100)

    # The Parley side includes one handshake per round of 100; subtract it.
    hs, _ = compare(parties.established, lambda: None, n(100), rounds)
    p, f = compare(parley_reverse, floor_rev, n(30), rounds)
    report("100 in reverse (per message)", "messages", (p - hs) / 100, f / 100, 2.0)

    # Serialise + load a session.
    a, b = parties.established()
    for _ in range(3):
        b.decrypt(a.encrypt(PLAINTEXT), RNG)
    private = a.ratchet.sending_ratchet.private_bytes()
    p, f = compare(
        lambda: Session.from_bytes(a.to_bytes()), lambda: floor_load(private), n(5000), rounds
    )
    report("serialise + load a session", "sessions", p, f, None)

    size = len(a.to_bytes())
    sizes = {"serialised session bytes (no skipped keys)": size}
    print(
        f"{'serialised session (no skipped keys)':<34} {size:>10} bytes  goal < 600 "
        f"{'ok' if size < 600 else 'ABOVE GOAL'}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": results, "sizes": sizes}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
