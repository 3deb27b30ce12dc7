"""The accumulated family: seeded random conversations.

The walk itself is ``parley.conformance.accumulated``.
"""

from __future__ import annotations

from ..runner import CHECKS
from .common import (
    Keys,
    _case,
    _driver,
    _file,
    h,
)

ACCUMULATED_NOTES = {
    "Accumulated": {
        "bugType": "FUNCTIONALITY",
        "description": "A seeded random conversation (parley.conformance.accumulated); only "
        "the seed, the step count, outcome counts and the SHA-256 of all outputs are kept.",
    }
}


def accumulated_file() -> dict:
    tests = []
    for name, steps in (("short", 300), ("long", 3000)):
        tc = f"accumulated/{name}"
        test = _case(
            tc,
            f"{steps} random steps: sends, out-of-order and duplicate "
            "deliveries, forged MACs, losses",
            ["Accumulated"],
            [
                "RATCHET-031",
                "RATCHET-032",
                "RATCHET-033",
                "RATCHET-036",
                "RATCHET-040",
                "X3DH-020",
                "CONF-002",
            ],
            seed=h(Keys(tc).raw()),
            steps=steps,
            result="valid",
        )
        group = {"type": "AccumulatedTest"}
        CHECKS["AccumulatedTest"](group, test, _driver(), True)
        tests.append(test)
    return _file(
        "PARLEY-ACCUMULATED",
        "accumulated.schema.json",
        ["Accumulated vectors in the manner of C2SP's CCTV."],
        ACCUMULATED_NOTES,
        [{"type": "AccumulatedTest", "tests": tests}],
    )
