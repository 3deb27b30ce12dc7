"""Accumulated vectors: a long random conversation, committed as one hash.

In the manner of C2SP's CCTV: the vector holds a seed, a step count, the
outcome counts and the SHA-256 of everything the run produced. The walk is
part of the runner, so an implementation under test only answers driver
calls; it never reimplements the walk.

This module is the executable form of spec/conformance.md, section
"Accumulated vectors" (CONF-020); each part below names the subsection it
follows (Draws, Clock, Digest and counts, Setup, Steps). A change here is a
change of that text, and of the committed hashes; ``tests/test_accumulated_spec.py``
transcribes the text independently and must still reproduce them.
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter

from ..driver.v1 import driver_pb2 as d
from ..primitives import DeterministicRandom
from ..v1 import wire_pb2
from .drivers import Refused
from .scenario import installation_request, to_hex

__all__ = ["NOW", "first_divergence", "run_accumulated"]

#: spec: "Clock". 2026-01-01T00:00:00Z.
NOW = 1_767_225_600


def _flip_mac(message: bytes) -> bytes:
    """spec: "Steps", the forged copy: mac[0] XOR 0x80, encoded again (WIRE-004)."""
    decoded = wire_pb2.RatchetMessage.FromString(message)
    mac = bytearray(decoded.mac)
    mac[0] ^= 0x80
    decoded.mac = bytes(mac)
    return decoded.SerializeToString()


def run_accumulated(
    seed: bytes, steps: int, drivers: dict, trace: list | None = None
) -> tuple[str, dict]:
    """Run the walk; return (SHA-256 hex of all outcomes, counts of each outcome).

    ``drivers["a"]`` serves Alice, ``drivers["b"]`` (else "a") Bob (spec: "Setup").
    ``trace``, if given, receives every record as (step, tag, data); step -1 is
    the setup. It only serves to say where two runs part (:func:`first_divergence`).
    """
    step = -1
    # spec: "Draws": key(), u32() and bytes(n) from the stream of CONF-002
    rng = DeterministicRandom(seed)
    key = lambda: rng.random_bytes(32)  # noqa: E731
    u32 = lambda: struct.unpack(">I", rng.random_bytes(4))[0]  # noqa: E731
    digest = hashlib.sha256()
    counts: Counter = Counter()

    def absorb(tag: bytes, data: bytes) -> None:
        """spec: "Digest and counts": tag || u32 big-endian length || data."""
        digest.update(tag + struct.pack(">I", len(data)) + data)
        if trace is not None:
            trace.append((step, tag.decode(), bytes(data)))

    # spec: "Setup", step 1: Alice, then Bob
    a, b = drivers.get("a"), drivers.get("b") or drivers["a"]
    parties = {}
    for name, driver in (("alice", a), ("bob", b)):
        party = {
            "signingPrivateKey": to_hex(key()),
            "dhPrivateKey": to_hex(key()),
            "installationId": to_hex(rng.random_bytes(16)),
            "signedPreKeys": [{"id": 1, "privateKey": to_hex(key()), "createdAt": NOW}],
            "oneTimePreKeys": [{"id": 2, "privateKey": to_hex(key())}],
        }
        response = driver.call("CreateInstallation", installation_request(party))
        parties[name] = (
            driver,
            response.installation_handle,
            bytes.fromhex(party["installationId"]),
        )
        absorb(b"I", response.identity)
    # spec: "Setup", step 2: Bob's bundle
    bob_driver, bob_inst, bob_id = parties["bob"]
    alice_driver, alice_inst, alice_id = parties["alice"]
    bundle = bob_driver.call(
        "CreateBundle", d.CreateBundleRequest(installation_handles=[bob_inst], now=NOW)
    ).bundle
    absorb(b"B", bundle)
    # spec: "Setup", step 3: EK_A, then the ratchet key
    alice_session = alice_driver.call(
        "Initiate",
        d.InitiateRequest(
            installation_handle=alice_inst,
            bundle=bundle,
            remote_installation_id=bob_id,
            now=NOW,
            one_time_prekey_id=2,
            ephemeral_private_key=key(),
            ratchet_private_key=key(),
        ),
    ).session_handle
    sessions: dict[str, int | None] = {"alice": alice_session, "bob": None}
    drivers_of = {"alice": alice_driver, "bob": bob_driver}
    in_flight: list[tuple[str, bytes]] = []

    def deliver(recipient: str, message: bytes) -> None:
        """spec: "Steps", to deliver: the ratchet key first, then Respond or Decrypt."""
        driver = drivers_of[recipient]
        ratchet_key = key()
        try:
            if recipient == "bob" and sessions["bob"] is None:
                response = driver.call(
                    "Respond",
                    d.RespondRequest(
                        installation_handle=bob_inst,
                        message=message,
                        remote_installation_id=alice_id,
                        ratchet_private_key=ratchet_key,
                    ),
                )
                sessions["bob"] = response.session_handle
            else:
                response = driver.call(
                    "Decrypt",
                    d.DecryptRequest(
                        session_handle=sessions[recipient],
                        message=message,
                        ratchet_private_key=ratchet_key,
                    ),
                )
        except Refused as exc:
            counts[exc.code] += 1
            absorb(b"X", exc.code.encode())
            return
        counts["decrypted"] += 1
        absorb(b"P", response.plaintext)

    # spec: "Steps"
    for step in range(steps):  # noqa: B007 -- absorb() reads it for the trace
        r = u32() % 100
        if r < 40 or not in_flight:
            sender = "alice" if sessions["bob"] is None or u32() % 2 == 0 else "bob"
            plaintext = rng.random_bytes(u32() % 48)
            message = (
                drivers_of[sender]
                .call(
                    "Encrypt",
                    d.EncryptRequest(session_handle=sessions[sender], plaintext=plaintext),
                )
                .message
            )
            counts["encrypted"] += 1
            absorb(b"E", message)
            in_flight.append(("bob" if sender == "alice" else "alice", message))
            continue
        index = u32() % len(in_flight)
        recipient, message = in_flight[index]
        if r < 85:
            del in_flight[index]
            deliver(recipient, message)
        elif r < 92:
            deliver(recipient, message)
        elif r < 96:
            deliver(recipient, _flip_mac(message))
        else:
            del in_flight[index]
            counts["lost"] += 1
    return digest.hexdigest(), dict(sorted(counts.items()))


#: The message type of each record's data, for the diff of a divergence.
_RECORD_TYPES = {"B": wire_pb2.Bundle, "E": wire_pb2.RatchetMessage}
_RECORD_NAMES = {"I": "identity", "B": "bundle", "E": "message", "P": "plaintext", "X": "code"}


def first_divergence(seed: bytes, steps: int, mine: list):
    """Where a run's ``trace`` first parts from the reference's run: a Mismatch, or None.

    The walk is deterministic, so the reference implementation (in process)
    replays the records the vector's hash was made of; the first record that
    differs is decoded like any other output (:mod:`.diff`). Later records
    follow from it and are not reported.
    """
    from .diff import diff_bytes
    from .drivers import DirectDriver
    from .scenario import Mismatch

    theirs: list = []
    run_accumulated(seed, steps, {"a": DirectDriver(), "b": DirectDriver()}, theirs)
    for index, (got, want) in enumerate(zip(mine, theirs, strict=False)):
        if got == want:
            continue
        where = "the setup" if want[0] < 0 else f"step {want[0]}"
        if got[1] != want[1]:
            text = (
                f"record {index} ({where}): a {_RECORD_NAMES[got[1]]} ({got[1]}) where the "
                f"reference has a {_RECORD_NAMES[want[1]]} ({want[1]}): "
                f"{_shown(got)} against {_shown(want)}"
            )
            return Mismatch(text)
        name = _RECORD_NAMES[got[1]]
        difference = diff_bytes(got[2], want[2], name, _RECORD_TYPES.get(got[1]))
        return Mismatch(
            f"record {index} ({where}): " + difference.text("the reference has"), difference
        )
    if len(mine) != len(theirs):
        return Mismatch(f"the run has {len(mine)} records, the reference's {len(theirs)}")
    return None


def _shown(record: tuple) -> str:
    """A record's data in full: the code as text, anything else as hex."""
    _, tag, data = record
    return data.decode() if tag == "X" else f"{data.hex() or '(empty)'} ({len(data)} bytes)"
