"""The fuzz harness: bounded hypothesis runs, counted per target, with a corpus.

A target is a function of bytes that must either succeed or raise one of the
typed errors it is allowed to raise; anything else is a crash. Each target
module

* replays every file of ``corpus/<target>/`` (inputs that once crashed it),
  always, as plain regression tests, and
* fuzzes the target (marked ``fuzz``): hypothesis draws random bytes and
  mutations of valid inputs.

Budget, from the environment:

* ``PARLEY_FUZZ_EXAMPLES``: inputs per hypothesis run (default 200: the short
  pass of the normal test suite);
* ``PARLEY_FUZZ_SECONDS``: when set, runs are repeated until that many
  seconds have passed for the target (``make fuzz``);
* ``PARLEY_FUZZ_KEEP=1``: the smallest crashing input of each kind of crash is
  written into the corpus at the end of the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("PARLEY_FUZZ_EXAMPLES", "200"))
SECONDS = float(os.environ.get("PARLEY_FUZZ_SECONDS", "0") or 0)
KEEP = os.environ.get("PARLEY_FUZZ_KEEP") == "1"
CORPUS = Path(__file__).resolve().parent / "corpus"
VECTORS = Path(__file__).resolve().parents[2] / "test-vectors"


@dataclass
class Target:
    """One fuzz target and what it saw in this session."""

    name: str
    tried: int = 0
    seconds: float = 0.0
    #: crash signature -> the smallest input that showed it
    crashes: dict[str, bytes] = field(default_factory=dict)

    def corpus(self) -> list[Path]:
        folder = CORPUS / self.name
        return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def keep(self) -> list[Path]:
        written = []
        for data in self.crashes.values():
            path = CORPUS / self.name / f"crash-{hashlib.sha256(data).hexdigest()[:16]}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_bytes(data)
                written.append(path)
        return written


TARGETS: dict[str, Target] = {}
#: The session's temporary folder (pytest's tmp_path_factory, set by conftest.py).
_WORKDIR: list[Path] = []


def workdir(name: str) -> Path:
    """A fresh folder for one target's files, under the session's tmp folder."""
    folder = _WORKDIR[0] / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def target(name: str) -> Target:
    return TARGETS.setdefault(name, Target(name))


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}"


def fuzz(name: str, inputs: st.SearchStrategy[bytes], check: Callable[[bytes], None]) -> None:
    """Run ``check`` over ``inputs`` for the budget; fail on the first crash."""
    t = target(name)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs)
    def run(data: bytes) -> None:
        if SECONDS and time.monotonic() - start > SECONDS:
            return  # the time is up: the rest of this run goes by untried
        t.tried += 1
        try:
            check(data)
        except Exception as exc:
            signature = _signature(exc)
            if signature not in t.crashes or len(data) < len(t.crashes[signature]):
                t.crashes[signature] = data
            raise

    start = time.monotonic()
    try:
        run()
        while SECONDS and time.monotonic() - start < SECONDS:
            run()  # a fresh run: new random inputs
    finally:
        t.seconds += time.monotonic() - start


def vector_seeds(*keys: str) -> list[bytes]:
    """Every hex value under one of ``keys`` in the JSON test vectors: valid
    envelopes, messages, bundles, identities, states to mutate."""
    import json

    out: set[bytes] = set()

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in keys:
            with contextlib.suppress(ValueError):
                out.add(bytes.fromhex(node))

    for path in sorted(VECTORS.glob("*.json")):
        walk(json.loads(path.read_text()))
    return sorted(out)


# -- input strategies ----------------------------------------------------------------

_INTERESTING = [
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"\xff\xff\xff\xff\x0f",  # varint 2^32-1
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # varint 2^64-1
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # a varint too long
]


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """A valid input with a few bytes flipped, inserted, deleted or overwritten."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 4))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == 2:
            del data[pos : pos + draw(st.integers(1, 32))]
        elif op == 3:
            chunk = draw(st.sampled_from(_INTERESTING))
            data[pos : pos + len(chunk)] = chunk
        else:  # splice in a piece of another seed
            other = draw(st.sampled_from(seeds))
            a = draw(st.integers(0, len(other)))
            data[pos:pos] = other[a : a + draw(st.integers(1, 64))]
    return bytes(data)


def inputs(seeds: Sequence[bytes], max_size: int = 2048) -> st.SearchStrategy[bytes]:
    """Random bytes, valid seeds, and mutations of them."""
    return st.one_of(
        st.binary(max_size=max_size),
        st.sampled_from(list(seeds)),
        mutated(list(seeds)),
        mutated(list(seeds)),
    )
