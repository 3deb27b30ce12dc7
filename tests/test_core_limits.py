"""Limits and decode rules of the core that the session tests do not reach."""

from __future__ import annotations

import pytest
from helpers import establish, rebuild_message
from parley import PROFILE_1, Session, VersionPolicy
from parley.codec import decode_bundle
from parley.errors import MalformedMessage, MessageTooLarge
from parley.v1 import wire_pb2


@pytest.mark.requirement("WIRE-001", "WIRE-002")
@pytest.mark.parametrize("data", [b"", rebuild_message(b"", mac=bytes(32))])
def test_a_message_without_header_is_malformed(data):
    pair = establish()
    before = pair.b.to_bytes()
    with pytest.raises(MalformedMessage):
        pair.b.decrypt(data, pair.rng)
    assert pair.b.to_bytes() == before


@pytest.mark.requirement("WIRE-002", "RATCHET-040")
def test_a_ciphertext_longer_than_any_permitted_plaintext_is_refused_before_the_mac():
    pair = establish()
    message = pair.a.encrypt(b"x")
    limit = PROFILE_1.max_plaintext_size + 16
    assert PROFILE_1.max_ciphertext_size == limit
    oversized = rebuild_message(message, ciphertext=bytes(limit + 16))
    before = pair.b.to_bytes()
    with pytest.raises(MessageTooLarge):
        pair.b.decrypt(oversized, pair.rng)
    assert pair.b.to_bytes() == before
    assert pair.b.decrypt(message, pair.rng) == b"x"


@pytest.mark.requirement("WIRE-001")
def test_a_short_bundle_signature_is_malformed():
    pair = establish()
    from parley import Bundle, InstallationPreKeys

    bundle = Bundle.create(
        pair.bob.identity, [InstallationPreKeys.of(pair.bob.installation)], 1_700_000_000
    )
    message = wire_pb2.Bundle.FromString(bundle.to_bytes())
    message.signature = message.signature[:63]
    with pytest.raises(MalformedMessage):
        decode_bundle(message.SerializeToString())


@pytest.mark.requirement("STORE-010")
def test_a_loaded_session_reads_the_versions_of_the_given_policy():
    pair = establish()
    policy = VersionPolicy(reads=frozenset({1, 2}), writes=1)
    loaded = Session.from_bytes(pair.b.to_bytes(), policy)
    assert loaded.policy is policy
    assert Session.from_bytes(pair.b.to_bytes()).policy.reads == frozenset({1})
