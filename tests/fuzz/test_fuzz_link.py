"""Fuzz link payloads: Account.from_link makes an installation or raises
INVALID_LINK_PAYLOAD, and then leaves no store behind."""

from __future__ import annotations

import functools
import itertools
import json

import pytest
from fuzzing import fuzz, inputs, target, workdir
from hypothesis import strategies as st
from library_world import World
from parley.client import Account
from parley.client.errors import InvalidLinkPayload
from parley.client.links import LINK_MAGIC

NAME = "link_payload"
_COUNTER = itertools.count()


@functools.cache
def _seeds() -> list[bytes]:
    world = World(workdir(NAME), b"fuzz link")
    alice, bob, carol = world.account("alice"), world.account("bob"), world.account("carol")
    alice.add_contact(bob.contact_code(), "bob")
    alice.add_contact(carol.contact_code())
    return [alice.export_link(), alice.export_link(restore=True), bob.export_link()]


def check(data: bytes) -> None:
    path = workdir(NAME) / f"new-{next(_COUNTER)}.db"
    try:
        account = Account.from_link(path, "pass", data, kdf_iterations=2)
    except InvalidLinkPayload:
        assert not path.exists(), "a refused payload left a store behind"
        return
    account.close()
    path.unlink()


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["", "00", "ff" * 16, "link", "restore"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _slots(node: object) -> list[tuple[object, object]]:
    """Every (container, key) of a JSON document."""
    out: list[tuple[object, object]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        out.append((node, key))
        out += _slots(value)
    return out


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """A real payload with one value anywhere in it replaced or removed."""
    body = json.loads(draw(st.sampled_from(_seeds()))[len(LINK_MAGIC) :])
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(_slots(body)))
        if draw(st.booleans()) and isinstance(container, dict):
            del container[key]
        else:
            container[key] = draw(_JSON)  # type: ignore[index]
        if not _slots(body):
            break
    return LINK_MAGIC + json.dumps(body).encode()


@pytest.mark.parametrize("path", target(NAME).corpus(), ids=lambda p: p.name)
def test_corpus(path):
    check(path.read_bytes())


@pytest.mark.fuzz
def test_fuzz():
    fuzz(NAME, st.one_of(structured(), structured(), inputs(_seeds(), max_size=256)), check)
