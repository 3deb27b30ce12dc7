"""Fuzz the decoders of the core (wire format) and of the library's own
encodings: a decoder returns a value or raises a typed ParleyError."""

from __future__ import annotations

import contextlib
import functools

import pytest
from fuzzing import fuzz, inputs, target, vector_seeds
from hypothesis import strategies as st
from parley.bundle import Bundle
from parley.client.contact_code import decode_contact_code, encode_contact_code
from parley.client.payload import decode_payload
from parley.codec import (
    decode_bundle,
    decode_envelope,
    decode_no_bundle_message,
    decode_ratchet_message,
)
from parley.errors import ParleyError
from parley.keys import IdentityKey

NOW = 1_700_000_000


def _bundle(data: bytes) -> None:
    bundle = decode_bundle(data)
    bundle.verify(NOW)
    assert Bundle.from_bytes(bundle.to_bytes()).to_bytes() == bundle.to_bytes()


def _identity(data: bytes) -> None:
    IdentityKey.from_bytes(data).verify()


def _contact_code(data: bytes) -> None:
    decode_contact_code(data.decode("latin-1"))


#: target -> (decoder, the vector fields that hold valid inputs of it)
DECODERS = {
    "codec_envelope": (decode_envelope, ("envelope",)),
    "codec_ratchet_message": (decode_ratchet_message, ("message",)),
    "codec_no_bundle_message": (decode_no_bundle_message, ("message",)),
    "codec_bundle": (_bundle, ("bundle", "senderBundle")),
    "keys_identity": (_identity, ("identity", "peerIdentity", "senderIdentity")),
    "client_payload": (decode_payload, ("plaintext", "body")),
    "contact_code": (_contact_code, ()),
}


@functools.cache
def _seeds(name: str) -> list[bytes]:
    if name == "contact_code":
        return [encode_contact_code(b).encode() for b in vector_seeds("bundle")[:8]]
    seeds = vector_seeds(*DECODERS[name][1])
    return seeds or vector_seeds("message", "bundle", "envelope")


def check(name: str, data: bytes) -> None:
    decoder, _ = DECODERS[name]
    with contextlib.suppress(ParleyError):
        decoder(data)


@pytest.mark.parametrize(
    ("name", "path"),
    [(name, p) for name in DECODERS for p in target(name).corpus()],
    ids=lambda v: getattr(v, "name", v),
)
def test_corpus(name, path):
    check(name, path.read_bytes())


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(DECODERS))
def test_fuzz(name):
    seeds = _seeds(name)
    assert seeds, name
    strategy = inputs(seeds)
    if name == "contact_code":
        alphabet = "parley1:abcdefghijklmnopqrstuvwxyz234567 \n=ABC"
        strategy = st.one_of(strategy, st.text(alphabet, max_size=600).map(str.encode))
    fuzz(name, strategy, functools.partial(check, name))
