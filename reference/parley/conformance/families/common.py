"""What every vector family shares: the clock, the per-case randomness, the file and case layout."""

from __future__ import annotations

from ...primitives import DeterministicRandom
from ...profile import PROFILE_1
from ..drivers import DirectDriver
from ..runner import CHECKS

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
F = PROFILE_1
LOW_ORDER = bytes(32)  # u = 0: every X25519 output with it is zero
LOW_ORDER_1 = b"\x01" + bytes(31)  # u = 1, order 4


class Keys:
    """The randomness of one case, from its tcId."""

    def __init__(self, tc_id: str) -> None:
        self.rng = DeterministicRandom(b"parley vectors v1/" + tc_id.encode())

    def raw(self, n: int = 32) -> bytes:
        return self.rng.random_bytes(n)

    def key(self) -> str:
        return self.raw(32).hex()


def h(data: bytes) -> str:
    return data.hex()


def text(value: str) -> str:
    return value.encode().hex()


def _file(algorithm: str, schema: str, header: list[str], notes: dict, groups: list) -> dict:
    return {
        "algorithm": algorithm,
        "schema": schema,
        "generatorVersion": "parley.conformance.generate 1",
        "numberOfTests": sum(len(g["tests"]) for g in groups),
        "header": header,
        "notes": notes,
        "testGroups": groups,
    }


def _case(tc_id: str, comment: str, flags: list[str], requirements: list[str], **inputs) -> dict:
    return {
        "tcId": tc_id,
        "comment": comment,
        "flags": flags,
        "requirements": requirements,
        **inputs,
    }


def _driver() -> dict:
    driver = DirectDriver()
    return {"a": driver, "b": driver}


def _record(group: dict, test: dict, expect: str = "ok", acceptable: bool = False) -> dict:
    """Run a flat case on the reference, recording outputs; check the declared outcome."""
    CHECKS[group["type"]](group, test, _driver(), True)
    got = test.get("error", "ok")
    if got != expect:
        raise AssertionError(f"{test['tcId']}: expected {expect}, the reference gave {got}")
    if acceptable:
        test["result"] = "acceptable"
    return test
