"""The versioning family: version policies and their scenarios."""

from __future__ import annotations

from .common import (
    _case,
    _file,
    _record,
)
from .scenarios import (
    SCENARIO_NOTES,
    VERSION_NOTES,
    Build,
)

# == versioning ==================================================================


def versioning_file() -> dict:
    rows = [
        ("v1-v1", [1], 1, [1], 1, ["Negotiation"]),
        ("stage-x-peer-x", [1, 2], 1, [1], 1, ["StagedMigration"]),
        ("stage-x-peer-x1", [1, 2], 1, [1, 2], 1, ["StagedMigration"]),
        ("stage-x1-peer-x", [1, 2], 2, [1], 1, ["StagedMigration"]),
        ("stage-x1-peer-x1", [1, 2], 2, [1, 2], 2, ["StagedMigration"]),
        ("stage-x1-peer-x2", [1, 2], 2, [2], 2, ["StagedMigration"]),
        ("stage-x2-peer-x1", [2], 2, [1, 2], 2, ["StagedMigration"]),
        ("stage-x2-peer-x", [2], 2, [1], None, ["StagedMigration", "NoCommonVersion"]),
        ("peer-reads-only-newer", [1, 2, 3], 2, [3], None, ["NoCommonVersion"]),
        ("peer-reads-nothing", [1], 1, [], None, ["NoCommonVersion"]),
        ("highest-common", [1, 2, 3], 3, [1, 2, 3, 4], 3, ["Negotiation"]),
    ]
    group = {"type": "NegotiateTest", "tests": []}
    for name, reads, writes, peer, want, flags in rows:
        test = _case(
            f"version/negotiate/{name}",
            f"reads {reads}, writes {writes}, peer {peer}",
            flags,
            ["VERSION-010"] + (["VERSION-020"] if "StagedMigration" in flags else []),
            policy={"reads": reads, "writes": writes},
            peerReads=peer,
        )
        group["tests"].append(_record(group, test, "ok" if want else "UNSUPPORTED_VERSION"))
        if want:
            assert test["version"] == want, test
    test = _case(
        "version/negotiate/policy-writes-unread",
        "writes 2 but reads only 1",
        ["InvalidPolicy"],
        ["VERSION-020", "ERR-001"],
        policy={"reads": [1], "writes": 2},
        peerReads=[1, 2],
    )
    group["tests"].append(_record(group, test, "INVALID_ARGUMENT"))
    scenarios = version_scenarios()
    return _file(
        "PARLEY-VERSIONING",
        "versioning.schema.json",
        [
            "Protocol version negotiation (parley.versioning.negotiate, VersionPolicy) and "
            "version handling in sessions."
        ],
        {**VERSION_NOTES, **SCENARIO_NOTES},
        [group, {"type": "ScenarioTest", "tests": scenarios}],
    )


def version_scenarios() -> list[dict]:
    out = []
    for tc, pa, pb_, comment in (
        ("v2-session", ((1, 2), 2), ((1, 2), 2), "both read 2: the session writes 2"),
        ("v2-writer-v1-peer", ((1, 2), 2), ((1,), 1), "the peer reads only 1: writes 1"),
    ):
        b = Build(
            f"version/{tc}",
            comment,
            ["StagedMigration"],
            ["VERSION-010", "VERSION-020", "VERSION-002", "VERSION-011"],
        )
        b.party("alice", policy=pa)
        b.party("bob", policy=pb_)
        bun = b.bundle("bob")
        b.initiate("alice", "ab", bun, "bob")
        b.respond("bob", "ba", "alice", b.send("ab", "first"))
        b.recv("ab", b.send("ba", "reply"))
        out.append(b.done())
    b = Build(
        "version/no-common-version",
        "the bundle lists only version 2; Alice reads 1",
        ["NoCommonVersion"],
        ["VERSION-010"],
    )
    b.party("alice")
    b.party("bob", policy=((2,), 2))
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", expect="UNSUPPORTED_VERSION")
    out.append(b.done())
    return out
