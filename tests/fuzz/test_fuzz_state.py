"""Fuzz the local state loaders (identity, installation, session): a loader
returns a state or raises a typed ParleyError, and what it loads dumps to
bytes that load to the same state again."""

from __future__ import annotations

import functools

import pytest
from fuzzing import fuzz, inputs, target, vector_seeds
from helpers import establish, make_party
from parley.errors import ParleyError
from parley.primitives import DeterministicRandom
from parley.state import (
    dump_identity,
    dump_installation,
    dump_session,
    load_identity,
    load_installation,
    load_session,
)

LOADERS = {
    "state_identity": (load_identity, dump_identity),
    "state_installation": (load_installation, dump_installation),
    "state_session": (load_session, dump_session),
}


@functools.cache
def _seeds(name: str) -> list[bytes]:
    rng = DeterministicRandom(b"fuzz state seeds")
    party = make_party("p", rng, one_time_prekeys=3)
    pair = establish(b"fuzz state pair")
    one_way = establish(b"fuzz state one way", reply=False)
    seeds = {
        "state_identity": [dump_identity(party.identity), dump_identity(pair.alice.identity)],
        "state_installation": [
            dump_installation(party.installation),
            dump_installation(pair.bob.installation),
        ],
        "state_session": [dump_session(s) for s in (pair.a, pair.b, one_way.a, one_way.b)],
    }[name]
    return seeds + vector_seeds("state")


def check(name: str, data: bytes) -> None:
    load, dump = LOADERS[name]
    try:
        state = load(data)
    except ParleyError:
        return
    again = dump(state)
    assert dump(load(again)) == again  # a loaded state survives its own round trip


@pytest.mark.parametrize(
    ("name", "path"),
    [(name, p) for name in LOADERS for p in target(name).corpus()],
    ids=lambda v: getattr(v, "name", v),
)
def test_corpus(name, path):
    check(name, path.read_bytes())


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_fuzz(name):
    fuzz(name, inputs(_seeds(name), max_size=4096), functools.partial(check, name))
