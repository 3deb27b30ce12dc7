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
    bad_padding_message,
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
    # CONF-030: a Negotiate request without a policy uses the default policy
    for name, peer, want in (("no-policy", [1, 2], 1), ("no-policy-peer-reads-2", [2], None)):
        test = _case(
            f"version/negotiate/{name}",
            f"no policy in the request (the default: reads [1], writes 1), peer {peer}",
            ["DefaultPolicy"],
            ["CONF-030", "VERSION-010"],
            peerReads=peer,
        )
        group["tests"].append(_record(group, test, "ok" if want else "UNSUPPORTED_VERSION"))
        if want:
            assert test["version"] == want, test
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
    out += other_version_scenarios()
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


READS_1_2 = ((1, 2), 1)  # stage x: reads 1 and 2, writes 1


def other_version_scenarios() -> list[dict]:
    """VERSION-011: a message whose MAC verifies in a session but whose header writes
    another protocol version than the session's is MALFORMED_MESSAGE, state unchanged."""
    out = []
    reqs = ["VERSION-011", "RATCHET-040"]
    flags = ["AuthenticOtherVersion", "StateUnchanged"]
    # the current receiving chain
    b = Build(
        "version/authentic-other-version",
        "a v1 session between parties that read 1 and 2; A's next chain key writes a "
        "version-2 header with a valid MAC: refused, and A's real next message decrypts",
        flags,
        reqs,
    )
    b.party("alice", policy=READS_1_2)
    b.party("bob", opks=1, policy=READS_1_2)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.step("exportSession", session="ab", name="alice-state")
    forged = bad_padding_message(b.value("alice-state"), version=2, padding_ok=True)
    b.recv("ba", raw=forged, expect="MALFORMED_MESSAGE")
    b.recv("ba", b.send("ab", "second"))
    out.append(b.done())
    # a DH ratchet step: the new chain's first message
    b = Build(
        "version/authentic-other-version-new-chain",
        "as above, but the version-2 header starts A's next sending chain (a DH ratchet "
        "step at B): refused before the step is kept, and no new ratchet key is drawn",
        flags,
        [*reqs, "RATCHET-033"],
    )
    b.party("alice", policy=READS_1_2)
    b.party("bob", opks=1, policy=READS_1_2)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    b.step("exportSession", session="ab", name="alice-state")
    forged = bad_padding_message(b.value("alice-state"), version=2, padding_ok=True)
    b.recv("ba", raw=forged, expect="MALFORMED_MESSAGE")
    b.recv("ba", b.send("ab", "after the turn"))
    out.append(b.done())
    # a stored skipped key
    b = Build(
        "version/authentic-other-version-skipped-key",
        "the version-2 header is written with the key of a message B skipped and keeps: "
        "refused, the skipped key stays, and the real message then decrypts",
        flags,
        [*reqs, "RATCHET-031"],
    )
    b.party("alice", policy=READS_1_2)
    b.party("bob", opks=1, policy=READS_1_2)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.step("exportSession", session="ab", name="alice-state")
    forged = bad_padding_message(b.value("alice-state"), version=2, padding_ok=True)
    late = b.send("ab", "late")
    b.recv("ba", b.send("ab", "overtakes"))
    b.recv("ba", raw=forged, expect="MALFORMED_MESSAGE")
    b.recv("ba", late)
    out.append(b.done())
    # two faults after the MAC: the version before the padding
    b = Build(
        "version/order/other-version-before-padding",
        "an authentic version-2 header in a v1 session over a badly padded ciphertext: "
        "the version is checked once the MAC verified, before the padding",
        ["AuthenticOtherVersion", "CheckOrder", "StateUnchanged"],
        [*reqs, "PROFILE-012"],
    )
    b.party("alice", policy=READS_1_2)
    b.party("bob", opks=1, policy=READS_1_2)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.step("exportSession", session="ab", name="alice-state")
    forged = bad_padding_message(b.value("alice-state"), version=2)
    b.recv("ba", raw=forged, expect="MALFORMED_MESSAGE")
    b.recv("ba", b.send("ab", "second"))
    out.append(b.done())
    # STORE-010: a loaded session reads its own version
    b = Build(
        "version/v2-session-export-import",
        "a version-2 session is exported mid-session and imported (ImportSession has no "
        "policy: the default reads 1); the imported session reads its own version 2",
        ["StagedMigration", "StateExport"],
        ["STORE-013", "VERSION-011"],
    )
    b.party("alice", policy=((1, 2), 2))
    b.party("bob", opks=1, policy=((1, 2), 2))
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    b.step("exportSession", session="ba", name="saved")
    b.step("importSession", party="bob", input="saved", session="ba-restored")
    b.recv("ba-restored", b.send("ab", "to the restored session"))
    b.recv("ab", b.send("ba-restored", "from the restored session"))
    out.append(b.done())
    return out
