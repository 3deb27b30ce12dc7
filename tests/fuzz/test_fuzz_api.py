"""Fuzz the request handlers of `parley serve` (ParleyService), in process:
any request bytes get a response or a typed status (never INTERNAL or
UNKNOWN), with one line of message. An input is ``Method\\n<request bytes>``."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

import grpc
import pytest
from fuzzing import fuzz, inputs, target, workdir
from hypothesis import strategies as st
from library_world import KDF, World
from parley.api.v1 import api_pb2 as pb
from parley.client import Account
from parley.client.server import ApiServer, _lenient

NAME = "api_handlers"
SERVICE = pb.DESCRIPTOR.services_by_name["ParleyService"]
REQUESTS = {m.name: getattr(pb, m.input_type.name) for m in SERVICE.methods}
_U64 = st.integers(0, 2**64 - 1)
_U32 = st.integers(0, 2**32 - 1)
_TEXT = st.one_of(st.text(max_size=40), st.text(max_size=300), st.sampled_from(["bob", "alice"]))


class Aborted(grpc.aio.AbortError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class Context:
    """What the handlers use of grpc.aio.ServicerContext."""

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        raise Aborted(code, details)


@dataclass
class Scene:
    api: ApiServer
    loop: asyncio.AbstractEventLoop
    seeds: list[bytes]


@functools.cache
def _scene() -> Scene:
    folder = workdir(NAME)
    world = World(folder, b"fuzz api")
    alice, bob = world.account("alice"), world.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    world.send(bob, "alice", b"hello alice")
    code = bob.contact_code()
    alice.close()

    def open_alice() -> Account:
        return Account.open(
            folder / "alice.db", "alice pass", rng=world.rng, clock=world.clock, kdf_iterations=KDF
        )

    api = ApiServer(open_alice, world.net)
    api._run_sync(api.poll_once)  # events to stream and acknowledge
    requests = [
        pb.AddContactRequest(code=code, name="bob again"),
        pb.AddContactRequest(code=code[:-3]),
        pb.AckEventsRequest(event_ids=[1, 2, 2**64 - 1]),
        pb.ListMessagesRequest(contact="bob", limit=5),
        pb.SendMessageRequest(contact="bob", body=b"hi"),
        *(REQUESTS[m]() for m in REQUESTS),
    ]
    seeds = [
        _input(type(r).__name__.removesuffix("Request"), r.SerializeToString()) for r in requests
    ]
    return Scene(api, asyncio.new_event_loop(), seeds)


def _input(method: str, raw: bytes) -> bytes:
    return method.encode() + b"\n" + raw


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """A well-formed request with extreme field values."""
    request = draw(
        st.one_of(
            st.builds(pb.AckEventsRequest, event_ids=st.lists(_U64, max_size=4)),
            st.builds(pb.ListMessagesRequest, contact=_TEXT, limit=_U32),
            st.builds(pb.AddContactRequest, code=_TEXT, name=_TEXT),
            st.builds(pb.SendMessageRequest, contact=_TEXT, body=st.binary(max_size=64)),
        )
    )
    return _input(type(request).__name__.removesuffix("Request"), request.SerializeToString())


@st.composite
def raw(draw: st.DrawFn) -> bytes:
    """A method, and random or mutated request bytes."""
    method = draw(st.sampled_from(sorted(REQUESTS)))
    return _input(method, draw(inputs([s.partition(b"\n")[2] for s in _scene().seeds], 512)))


def check(data: bytes) -> None:
    scene = _scene()
    method, _, body = data.partition(b"\n")
    name = method.decode("ascii", "replace")
    if name not in REQUESTS:
        return  # not an input of this target
    request = _lenient(REQUESTS[name].FromString)(body)
    handler = getattr(scene.api, name)

    async def call() -> None:
        if name == "SubscribeEvents":
            stream = handler(request, Context())
            try:
                await asyncio.wait_for(stream.__anext__(), 0.05)
            except (TimeoutError, StopAsyncIteration):
                pass
            finally:
                await stream.aclose()
        else:
            await handler(request, Context())

    try:
        scene.loop.run_until_complete(call())
    except Aborted as exc:
        assert exc.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
            name,
            exc.details,
        )
        assert exc.details and "\n" not in exc.details


@pytest.mark.parametrize("path", target(NAME).corpus(), ids=lambda p: p.name)
def test_corpus(path):
    check(path.read_bytes())


@pytest.mark.fuzz
def test_fuzz():
    fuzz(NAME, st.one_of(structured(), raw(), st.sampled_from(_scene().seeds)), check)
