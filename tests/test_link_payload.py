"""Link payloads: anything that is not a payload this library wrote is
INVALID_LINK_PAYLOAD, found before the new installation's store is created."""

from __future__ import annotations

import json

import pytest
from library_world import World
from parley.client import Account
from parley.client.errors import InvalidLinkPayload
from parley.client.links import LINK_MAGIC

PASS = "new pass"


@pytest.fixture
def payload(tmp_path) -> bytes:
    world = World(tmp_path)
    alice, bob = world.account("alice"), world.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    return alice.export_link()


def _body(payload: bytes) -> dict:
    return json.loads(payload[len(LINK_MAGIC) :])


def _with(body: dict) -> bytes:
    return LINK_MAGIC + json.dumps(body).encode()


def _link(tmp_path, data: bytes) -> Account:
    return Account.from_link(tmp_path / "new.db", PASS, data, kdf_iterations=2)


def _refused(tmp_path, data: bytes) -> None:
    with pytest.raises(InvalidLinkPayload):
        _link(tmp_path, data)
    assert not (tmp_path / "new.db").exists()  # nothing created


def test_deeply_nested_json(tmp_path):
    _refused(tmp_path, LINK_MAGIC + b"[" * 100_000 + b"]" * 100_000)
    _refused(tmp_path, LINK_MAGIC + b'{"a":' * 50_000 + b"1" + b"}" * 50_000)


@pytest.mark.parametrize(
    "name",
    [{"an": "object"}, ["a", "list"], 10**30, -(2**70), 1.5, True, "\ud800", "x" * 10_000],
    ids=["object", "list", "huge-int", "huge-negative", "float", "bool", "surrogate", "long"],
)
def test_contact_names_that_are_not_names(tmp_path, payload, name):
    body = _body(payload)
    body["contacts"][0]["name"] = name
    _refused(tmp_path, _with(body))


def test_bad_identity_binding_is_found_before_the_store_is_made(tmp_path, payload):
    body = _body(payload)
    identity = bytearray.fromhex(body["contacts"][0]["identity"])
    identity[-1] ^= 1  # the binding signature
    body["contacts"][0]["identity"] = identity.hex()
    _refused(tmp_path, _with(body))
    # the retry with the good payload works: nothing was left behind
    account = _link(tmp_path, payload)
    assert [c.name for c in account.contacts()] == ["bob"]
    account.close()


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "something"},
        {"kind": ["restore"]},
        {"kind": "restore", "installation_id": "00"},
        {"kind": "restore", "installation_id": 5},
        {"siblings": "abcd"},
        {"siblings": [1]},
        {"contacts": {"a": 1}},
        {"contacts": [[1, 2]]},
        {"identity": 7},
    ],
    ids=str,
)
def test_wrong_shapes(tmp_path, payload, change):
    body = _body(payload)
    body.update(change)
    _refused(tmp_path, _with(body))


def test_not_bytes_or_too_large(tmp_path, payload):
    with pytest.raises(InvalidLinkPayload):
        _link(tmp_path, payload.decode())  # type: ignore[arg-type]
    _refused(tmp_path, LINK_MAGIC + b" " * (17 << 20) + payload[len(LINK_MAGIC) :])
