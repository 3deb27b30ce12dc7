"""Generate the test vectors (and their JSON Schemas) from seeds.

    python -m parley.conformance.generate [OUT_DIR]          write every file
    python -m parley.conformance.generate --check [OUT_DIR]  regenerate into a
        temporary folder and fail on any byte of difference from OUT_DIR

OUT_DIR defaults to ``test-vectors/``. Every random value of a case comes from
``DeterministicRandom("parley vectors v1/" + tcId)``, so a case's bytes depend
on its name only: adding, removing or reordering cases never changes another
case, and a tcId never changes on regeneration. The clock is ``now`` in each
case. Known answers of the KDFs and X3DH are computed here from the
primitives, apart from the profile code; every other output is recorded by
running the case on the reference (``record=True``) and checked against the
outcome the case declares (``_expect``).
"""

from __future__ import annotations

import filecmp
import json
import sys
import tempfile
from pathlib import Path

from .. import primitives as P
from ..bundle import Bundle, InstallationPreKeys, signed_bundle_bytes
from ..codec import encode_ratchet_header, encode_ratchet_message, encode_x3dh_header
from ..keys import IdentityKey, IdentityKeyPair, InstallationKeys
from ..local.v1 import state_pb2
from ..primitives import DeterministicRandom
from ..profile import PROFILE_1
from ..session import Session
from ..state import load_session
from ..v1 import wire_pb2 as wire
from ..versioning import VersionPolicy
from .drivers import DirectDriver
from .runner import CHECKS, default_vector_dir
from .scenario import Scenario
from .schemas import SCHEMAS

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


# == KDFs ========================================================================

KDF_NOTES = {
    "Random": {"bugType": "BASIC", "description": "Inputs drawn from the case's seed."},
    "EdgeCase": {
        "bugType": "EDGE_CASE",
        "description": "Inputs of all-zero or all-one bytes, or a chain iterated several times.",
    },
}


def kdf_file() -> dict:
    groups = []

    def add(function: str, tests: list) -> None:
        groups.append({"type": "KdfTest", "profile": 1, "function": function, "tests": tests})

    # KDF_RK
    tests = []
    for name, flags in (("random-1", ["Random"]), ("random-2", ["Random"]), ("zero", ["EdgeCase"])):
        tc = f"kdf/kdf-rk/{name}"
        k = Keys(tc)
        rk, dh = (bytes(32), bytes(32)) if name == "zero" else (k.raw(), k.raw())
        okm = P.hkdf_sha256(dh, rk, b"Parley ratchet v1", 64)
        tests.append(
            _case(
                tc,
                "KDF_RK(rk, dh_out)",
                flags,
                ["RATCHET-010"],
                key=h(rk),
                input=h(dh),
                result="valid",
                outputs=[h(okm[:32]), h(okm[32:])],
            )
        )
    add("KDF_RK", tests)
    # KDF_CK, including a chain of five steps
    tests = []
    for name in ("random-1", "random-2", "ones"):
        tc = f"kdf/kdf-ck/{name}"
        ck = b"\xff" * 32 if name == "ones" else Keys(tc).raw()
        tests.append(
            _case(
                tc,
                "KDF_CK(ck) -> (ck', mk)",
                ["EdgeCase" if name == "ones" else "Random"],
                ["RATCHET-011"],
                key=h(ck),
                result="valid",
                outputs=[h(P.hmac_sha256(ck, b"\x02")), h(P.hmac_sha256(ck, b"\x01"))],
            )
        )
    ck = Keys("kdf/kdf-ck/chain").raw()
    for i in range(5):
        tc = f"kdf/kdf-ck/chain-step-{i}"
        nxt, mk = P.hmac_sha256(ck, b"\x02"), P.hmac_sha256(ck, b"\x01")
        tests.append(
            _case(
                tc,
                f"step {i} of one chain: the key is the previous step's ck'",
                ["EdgeCase"],
                ["RATCHET-011"],
                key=h(ck),
                result="valid",
                outputs=[h(nxt), h(mk)],
            )
        )
        ck = nxt
    add("KDF_CK", tests)
    # message keys
    tests = []
    for name in ("random-1", "random-2", "zero"):
        tc = f"kdf/message-keys/{name}"
        mk = bytes(32) if name == "zero" else Keys(tc).raw()
        okm = P.hkdf_sha256(mk, bytes(32), b"Parley message keys v1", 80)
        tests.append(
            _case(
                tc,
                "HKDF(mk) -> enc key, MAC key, IV",
                ["EdgeCase" if name == "zero" else "Random"],
                ["RATCHET-012"],
                key=h(mk),
                result="valid",
                outputs=[h(okm[:32]), h(okm[32:64]), h(okm[64:])],
            )
        )
    add("MESSAGE_KEYS", tests)
    # X3DH KDF: three and four DH outputs
    tests = []
    for name, n in (("three-dh", 3), ("four-dh", 4)):
        tc = f"kdf/x3dh/{name}"
        dh = Keys(tc).raw(32 * n)
        sk = P.hkdf_sha256(b"\xff" * 32 + dh, bytes(32), b"Parley X3DH v1", 32)
        tests.append(
            _case(
                tc,
                f"SK = HKDF(F || {n} DH outputs)",
                ["Random"],
                ["X3DH-010"],
                input=h(dh),
                result="valid",
                outputs=[h(sk)],
            )
        )
    add("X3DH_KDF", tests)
    tests = []
    tc = "kdf/no-bundle/random"
    dh = Keys(tc).raw(64)
    mk = P.hkdf_sha256(b"\xff" * 32 + dh, bytes(32), b"Parley no-bundle v1", 32)
    tests.append(
        _case(
            tc,
            "mk = HKDF(F || DH1 || DH2)",
            ["Random"],
            ["NOBUNDLE-010"],
            input=h(dh),
            result="valid",
            outputs=[h(mk)],
        )
    )
    add("NO_BUNDLE_KDF", tests)
    for group in groups:  # the reference must agree with the formulas above
        for test in group["tests"]:
            CHECKS["KdfTest"](group, test, _driver(), False)
    return _file(
        "PARLEY-KDF",
        "kdf.schema.json",
        ["Profile 1 key-derivation functions, computed from HKDF-SHA256 and HMAC-SHA256."],
        KDF_NOTES,
        groups,
    )


# == X3DH ========================================================================

X3DH_NOTES = {
    "Random": {"bugType": "BASIC", "description": "Keys drawn from the case's seed."},
    "OneTimePreKey": {"bugType": "FUNCTIONALITY", "description": "DH4 with a one-time prekey."},
    "LowOrderPoint": {
        "bugType": "EDGE_CASE",
        "description": "A peer key of small order makes an X25519 output zero; it must be "
        "refused (X3DH-011), never used.",
    },
    "WrongLength": {"bugType": "CAN_OF_WORMS", "description": "A peer key of a wrong length."},
}


def _x25519(private: bytes, public: bytes) -> bytes:
    return P.DHKeyPair.from_private_bytes(private).exchange(public)


def x3dh_file() -> dict:
    tests = []
    for name, with_opk in (("without-opk", False), ("with-opk", True)):
        base = f"x3dh/{name}"
        k = Keys(base)
        alice = IdentityKeyPair.from_private_bytes(k.raw(), k.raw())
        bob = IdentityKeyPair.from_private_bytes(k.raw(), k.raw())
        a_id, b_id = k.raw(16), k.raw(16)
        ek, spk, opk = k.raw(), k.raw(), k.raw()
        ek_pub = P.DHKeyPair.from_private_bytes(ek).public
        spk_pub = P.DHKeyPair.from_private_bytes(spk).public
        opk_pub = P.DHKeyPair.from_private_bytes(opk).public
        dh = [
            _x25519(alice.dh.private_bytes(), spk_pub),
            _x25519(ek, bob.public.dh_key),
            _x25519(ek, spk_pub),
        ]
        if with_opk:
            dh.append(_x25519(ek, opk_pub))
        sk = P.hkdf_sha256(b"\xff" * 32 + b"".join(dh), bytes(32), b"Parley X3DH v1", 32)
        ad = alice.public.keys + a_id + bob.public.keys + b_id
        flags = ["Random"] + (["OneTimePreKey"] if with_opk else [])
        reqs = ["X3DH-010", "X3DH-030", "KEYS-001"]
        outputs = {"dhOutputs": [h(x) for x in dh], "sharedKey": h(sk), "associatedData": h(ad)}
        init = _case(
            f"{base}/initiator",
            "Alice's side",
            flags,
            reqs,
            role="initiator",
            signingPrivateKey=h(alice.signing.private_bytes()),
            dhPrivateKey=h(alice.dh.private_bytes()),
            installationId=h(a_id),
            ephemeralPrivateKey=h(ek),
            peerIdentity=h(bob.public.to_bytes()),
            peerInstallationId=h(b_id),
            peerSignedPreKey=h(spk_pub),
            **({"peerOneTimePreKey": h(opk_pub)} if with_opk else {}),
            result="valid",
            **outputs,
        )
        resp = _case(
            f"{base}/responder",
            "Bob's side: the same SK and AD",
            flags,
            reqs,
            role="responder",
            signingPrivateKey=h(bob.signing.private_bytes()),
            dhPrivateKey=h(bob.dh.private_bytes()),
            installationId=h(b_id),
            signedPreKeyPrivateKey=h(spk),
            **({"oneTimePreKeyPrivateKey": h(opk)} if with_opk else {}),
            peerIdentity=h(alice.public.to_bytes()),
            peerInstallationId=h(a_id),
            peerEphemeralKey=h(ek_pub),
            result="valid",
            **outputs,
        )
        tests += [init, resp]
        if not with_opk:
            continue
        for point_name, point in (("u0", LOW_ORDER), ("u1", LOW_ORDER_1)):
            bad = {k2: v for k2, v in init.items() if k2 not in outputs and k2 != "result"}
            bad.update(
                tcId=f"x3dh/low-order-signed-prekey-{point_name}",
                comment="the bundle's signed prekey is a low-order point",
                flags=["LowOrderPoint"],
                requirements=["X3DH-011"],
                peerSignedPreKey=h(point),
            )
            tests.append(bad)
            bad = {k2: v for k2, v in resp.items() if k2 not in outputs and k2 != "result"}
            bad.update(
                tcId=f"x3dh/low-order-ephemeral-{point_name}",
                comment="the initiator's ephemeral key is a low-order point",
                flags=["LowOrderPoint"],
                requirements=["X3DH-011"],
                peerEphemeralKey=h(point),
            )
            tests.append(bad)
        bad = {k2: v for k2, v in init.items() if k2 not in outputs and k2 != "result"}
        bad.update(
            tcId="x3dh/short-signed-prekey",
            comment="a 31-byte signed prekey",
            flags=["WrongLength"],
            requirements=["WIRE-001"],
            peerSignedPreKey=h(spk_pub[:31]),
        )
        tests.append(bad)
    group = {"type": "X3dhTest", "profile": 1, "tests": tests}
    for test in tests:
        if "result" in test:
            CHECKS["X3dhTest"](group, test, _driver(), False)
        else:
            want = "INVALID_KEY" if "short" in test["tcId"] else "ZERO_SHARED_SECRET"
            _record(group, test, want)
    return _file(
        "PARLEY-X3DH",
        "x3dh.schema.json",
        ["X3DH from both sides: every DH output, SK and AD (X3DH-010, X3DH-030)."],
        X3DH_NOTES,
        [group],
    )


# == bundles =====================================================================

BUNDLE_NOTES = {
    "Valid": {"bugType": "BASIC", "description": "A well-formed, fresh, correctly signed bundle."},
    "MultipleInstallations": {
        "bugType": "FUNCTIONALITY",
        "description": "Several entries, sorted by installation id.",
    },
    "ClockEdge": {
        "bugType": "EDGE_CASE",
        "description": "The bundle's age or future skew is exactly at the profile's limit.",
    },
    "Stale": {"bugType": "MISSING_STEP", "description": "Older than bundle_max_age."},
    "Future": {"bugType": "MISSING_STEP", "description": "Signed beyond now + clock_skew."},
    "BadSignature": {"bugType": "AUTH_BYPASS", "description": "The bundle signature fails."},
    "BadBinding": {
        "bugType": "AUTH_BYPASS",
        "description": "The identity binding signature fails (KEYS-003).",
    },
    "ModifiedContent": {
        "bugType": "AUTH_BYPASS",
        "description": "A signed field was changed after signing.",
    },
    "UnsupportedProfile": {"bugType": "FUNCTIONALITY", "description": "A profile other than 1."},
    "Malformed": {"bugType": "CAN_OF_WORMS", "description": "The encoding breaks a rule."},
    "LimitExceeded": {
        "bugType": "CAN_OF_WORMS",
        "description": "More one-time prekeys in an entry than the profile allows.",
    },
    "NonCanonicalEncoding": {
        "bugType": "MALLEABILITY",
        "description": "Protobuf fields in a different order: the signature covers the signed "
        "bundle bytes, not the encoding, so a reader may accept it; a reader may also refuse "
        "encodings it would not produce. Both are acceptable.",
    },
}


def _identity(k: Keys) -> IdentityKeyPair:
    return IdentityKeyPair.from_private_bytes(k.raw(), k.raw())


def _entry(k: Keys, opks: int = 2, versions=(1,)) -> InstallationPreKeys:
    return InstallationPreKeys(
        k.raw(16),
        7,
        P.DHKeyPair.from_private_bytes(k.raw()).public,
        tuple(versions),
        tuple((10 + i, P.DHKeyPair.from_private_bytes(k.raw()).public) for i in range(opks)),
    )


def _sign(
    identity: IdentityKeyPair,
    entries,
    timestamp: int,
    profile_id: int = 1,
    identity_public: IdentityKey | None = None,
) -> Bundle:
    public = identity_public or identity.public
    entries = tuple(entries)
    message = signed_bundle_bytes(profile_id, public, entries, timestamp)
    return Bundle(profile_id, public, entries, timestamp, identity.sign(message))


def _bundle_pb(bundle: Bundle) -> wire.Bundle:
    return wire.Bundle.FromString(bundle.to_bytes())


def bundle_file() -> dict:
    create_tests = []
    for name, n_inst, limit in (
        ("one-installation", 1, None),
        ("two-installations", 2, None),
        ("opk-limit", 1, 1),
    ):
        tc = f"bundle/create/{name}"
        k = Keys(tc)
        installations = []
        for _ in range(n_inst):
            installations.append(
                {
                    "installationId": k.key()[:32],
                    "signedPreKeys": [{"id": 3, "privateKey": k.key(), "createdAt": NOW - DAY}],
                    "oneTimePreKeys": [
                        {"id": 4, "privateKey": k.key()},
                        {"id": 5, "privateKey": k.key()},
                    ],
                    "policy": {"reads": [1], "writes": 1},
                }
            )
        test = _case(
            tc,
            "sign a bundle from private keys at now",
            ["Valid"] + (["MultipleInstallations"] if n_inst > 1 else []),
            ["BUNDLE-001", "BUNDLE-004", "BUNDLE-010", "KEYS-003", "VERSION-002"],
            signingPrivateKey=k.key(),
            dhPrivateKey=k.key(),
            installations=installations,
            now=NOW,
            **({"oneTimePreKeyLimit": limit} if limit is not None else {}),
        )
        create_tests.append(test)
    create_group = {"type": "BundleCreateTest", "profile": 1, "tests": create_tests}
    for test in create_tests:
        _record(create_group, test)

    verify = []

    def case(tc, comment, flags, reqs, bundle_bytes, now, expect="ok", acceptable=False):
        verify.append(
            (_case(tc, comment, flags, reqs, bundle=h(bundle_bytes), now=now), expect, acceptable)
        )

    k = Keys("bundle/verify")
    alice = _identity(k)
    mallory = _identity(k)
    entries = sorted([_entry(k), _entry(k, 0, (1, 2))], key=lambda e: e.installation_id)
    good = _sign(alice, entries, NOW)
    R = ["BUNDLE-011", "BUNDLE-020"]
    case(
        "bundle/verify/valid",
        "fresh, two entries",
        ["Valid", "MultipleInstallations"],
        ["BUNDLE-001", "BUNDLE-010", "BUNDLE-011", "VERSION-002"],
        good.to_bytes(),
        NOW + 60,
    )
    case(
        "bundle/verify/age-at-limit",
        "exactly bundle_max_age old",
        ["ClockEdge"],
        R,
        good.to_bytes(),
        NOW + 30 * DAY,
    )
    case(
        "bundle/verify/stale",
        "one second older than bundle_max_age",
        ["Stale"],
        R,
        good.to_bytes(),
        NOW + 30 * DAY + 1,
        "BUNDLE_STALE",
    )
    case(
        "bundle/verify/future-at-limit",
        "signed exactly clock_skew in the future",
        ["ClockEdge"],
        R,
        good.to_bytes(),
        NOW - 300,
    )
    case(
        "bundle/verify/future",
        "signed clock_skew + 1 s in the future",
        ["Future"],
        R,
        good.to_bytes(),
        NOW - 301,
        "BUNDLE_TIMESTAMP_IN_FUTURE",
    )
    pb = _bundle_pb(good)
    sig = bytearray(pb.signature)
    sig[5] ^= 0x01
    pb.signature = bytes(sig)
    case(
        "bundle/verify/bad-signature",
        "one bit of the signature flipped",
        ["BadSignature"],
        ["BUNDLE-011"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "BUNDLE_SIGNATURE_INVALID",
    )
    case(
        "bundle/verify/signed-by-other-identity",
        "signed by another account's key",
        ["BadSignature"],
        ["BUNDLE-011"],
        _sign(mallory, entries, NOW, identity_public=alice.public).to_bytes(),
        NOW,
        "BUNDLE_SIGNATURE_INVALID",
    )
    pb = _bundle_pb(good)
    pb.installations[0].signed_prekey = P.DHKeyPair.from_private_bytes(k.raw()).public
    case(
        "bundle/verify/modified-signed-prekey",
        "a signed prekey replaced after signing",
        ["ModifiedContent"],
        ["BUNDLE-010", "BUNDLE-011"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "BUNDLE_SIGNATURE_INVALID",
    )
    pb = _bundle_pb(good)
    pb.timestamp = NOW + 1
    case(
        "bundle/verify/modified-timestamp",
        "the timestamp changed after signing",
        ["ModifiedContent"],
        ["BUNDLE-010", "BUNDLE-011"],
        pb.SerializeToString(deterministic=True),
        NOW + 10,
        "BUNDLE_SIGNATURE_INVALID",
    )
    pb = _bundle_pb(good)
    del pb.installations[1].protocol_versions[-1]
    case(
        "bundle/verify/modified-versions",
        "a protocol version removed after signing",
        ["ModifiedContent"],
        ["VERSION-002", "BUNDLE-011"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "BUNDLE_SIGNATURE_INVALID",
    )
    # identity binding: a DH key the signing key never bound
    other_dh = P.DHKeyPair.from_private_bytes(k.raw())
    unbound = IdentityKey(alice.public.signing_key, other_dh.public, alice.public.binding_signature)
    case(
        "bundle/verify/bad-binding",
        "the identity's DH key is not the one the binding signs",
        ["BadBinding"],
        ["KEYS-003", "BUNDLE-011"],
        _sign(alice, entries, NOW, identity_public=unbound).to_bytes(),
        NOW,
        "INVALID_IDENTITY_BINDING",
    )
    bad_sig = bytearray(alice.public.binding_signature)
    bad_sig[0] ^= 0x80
    broken = IdentityKey(alice.public.signing_key, alice.public.dh_key, bytes(bad_sig))
    case(
        "bundle/verify/bad-binding-signature",
        "one bit of the binding signature flipped",
        ["BadBinding"],
        ["KEYS-003"],
        _sign(alice, entries, NOW, identity_public=broken).to_bytes(),
        NOW,
        "INVALID_IDENTITY_BINDING",
    )
    case(
        "bundle/verify/profile-2",
        "a bundle of profile 2",
        ["UnsupportedProfile"],
        ["PROFILE-001"],
        _sign(alice, entries, NOW, profile_id=2).to_bytes(),
        NOW,
        "UNSUPPORTED_PROFILE",
    )
    pb = _bundle_pb(good)
    first, second = pb.installations[0], pb.installations[1]
    reordered = wire.Bundle(
        profile=1,
        identity=pb.identity,
        installations=[second, first],
        timestamp=pb.timestamp,
        signature=pb.signature,
    )
    case(
        "bundle/verify/unsorted-entries",
        "entries not sorted by installation id",
        ["Malformed"],
        ["BUNDLE-004"],
        reordered.SerializeToString(),
        NOW,
        "MALFORMED_MESSAGE",
    )
    repeated = wire.Bundle(
        profile=1,
        identity=pb.identity,
        installations=[first, first],
        timestamp=pb.timestamp,
        signature=pb.signature,
    )
    case(
        "bundle/verify/repeated-entry",
        "the same installation twice",
        ["Malformed"],
        ["BUNDLE-004"],
        repeated.SerializeToString(),
        NOW,
        "MALFORMED_MESSAGE",
    )
    case(
        "bundle/verify/not-protobuf",
        "bytes that do not decode",
        ["Malformed"],
        ["WIRE-001"],
        b"\x0a\xff\xff",
        NOW,
        "MALFORMED_MESSAGE",
    )
    pb = _bundle_pb(good)
    pb.signature = pb.signature[:63]
    case(
        "bundle/verify/short-signature",
        "a 63-byte bundle signature",
        ["Malformed"],
        ["WIRE-001", "BUNDLE-011"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "MALFORMED_MESSAGE",
    )
    pb = _bundle_pb(good)
    pb.identity.signing_key = pb.identity.signing_key[:31]
    case(
        "bundle/verify/short-signing-key",
        "a 31-byte identity signing key",
        ["Malformed"],
        ["WIRE-001"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "INVALID_KEY",
    )
    pb = _bundle_pb(good)
    pb.installations[0].installation_id = pb.installations[0].installation_id[:15]
    case(
        "bundle/verify/short-installation-id",
        "a 15-byte installation id",
        ["Malformed"],
        ["WIRE-001", "KEYS-004"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "MALFORMED_MESSAGE",
    )
    many = _sign(alice, [_entry(k, 101)], NOW)
    case(
        "bundle/verify/too-many-one-time-prekeys",
        "101 one-time prekeys in one entry",
        ["LimitExceeded"],
        ["BUNDLE-004"],
        many.to_bytes(),
        NOW,
        "MALFORMED_MESSAGE",
    )
    # non-canonical: the same fields, signature first
    pb = _bundle_pb(good)
    tail = wire.Bundle(signature=pb.signature).SerializeToString()
    pb.ClearField("signature")
    case(
        "bundle/verify/non-canonical-field-order",
        "the signature field encoded first",
        ["NonCanonicalEncoding"],
        ["BUNDLE-010"],
        tail + pb.SerializeToString(deterministic=True),
        NOW,
        acceptable=True,
    )
    verify_group = {"type": "BundleVerifyTest", "profile": 1, "tests": []}
    for test, expect, acceptable in verify:
        verify_group["tests"].append(_record(verify_group, test, expect, acceptable))
    return _file(
        "PARLEY-BUNDLE",
        "bundle.schema.json",
        ["Bundle signing (signed bundle bytes, BUNDLE-010) and verification against a clock."],
        BUNDLE_NOTES,
        [create_group, verify_group],
    )


# == wire codec ====================================================================

WIRE_NOTES = {
    "Valid": {"bugType": "BASIC", "description": "A message as the reference sends it."},
    "Malformed": {
        "bugType": "CAN_OF_WORMS",
        "description": "Exactly one field breaks a rule of the wire format.",
    },
    "WrongLength": {"bugType": "CAN_OF_WORMS", "description": "A key of a wrong length."},
    "UnsupportedVersion": {"bugType": "FUNCTIONALITY", "description": "A version not read."},
    "TooLarge": {
        "bugType": "CAN_OF_WORMS",
        "description": "The message is 'message' followed by zero bytes up to 'paddedLength' "
        "bytes, above max_message_size; it is refused before it is parsed (WIRE-002).",
    },
    "UnknownField": {
        "bugType": "MALLEABILITY",
        "description": "An unknown protobuf field outside the MAC-covered bytes. Protobuf "
        "readers ignore it; a stricter reader may refuse it. Both are acceptable.",
    },
    "Fanout": {"bugType": "FUNCTIONALITY", "description": "An envelope with several copies."},
}


def _pair(k: Keys, policy_a=None, policy_b=None, opk=True):
    """A live session pair made with the core directly (for codec vectors)."""
    alice, bob = IdentityKeyPair.generate(k.rng), IdentityKeyPair.generate(k.rng)
    a_dev = InstallationKeys.generate(k.rng, NOW)
    b_dev = InstallationKeys.generate(k.rng, NOW, one_time_prekeys=1 if opk else 0)
    pol_b = policy_b or VersionPolicy(frozenset({1}), 1)
    bundle = Bundle.create(bob, [InstallationPreKeys.of(b_dev, pol_b)], NOW)
    kw = {"policy": policy_a} if policy_a else {}
    opk_id = next(iter(b_dev.one_time_prekeys)) if opk else None
    a = Session.initiate(
        alice,
        a_dev.installation_id,
        bundle,
        b_dev.installation_id,
        now=NOW,
        rng=k.rng,
        one_time_prekey_id=opk_id,
        **kw,
    )
    return alice, bob, a_dev, b_dev, a


def _rebuild(message: bytes, **changes) -> bytes:
    pb = wire.RatchetMessage.FromString(message)
    header = wire.RatchetHeader.FromString(pb.header)
    for key, value in changes.items():
        if key in ("ratchet_key", "version", "previous_chain_length", "message_number"):
            setattr(header, key, value)
            pb.header = header.SerializeToString()
        else:
            setattr(pb, key, value)
    return pb.SerializeToString()


def wire_file() -> dict:
    k = Keys("wire")
    alice, bob, a_dev, b_dev, a = _pair(k)
    initial = a.encrypt(b"hello over the wire")
    b, _ = Session.respond(bob, b_dev, initial, a_dev.installation_id, rng=k.rng)
    a.decrypt(b.encrypt(b"reply"), k.rng)
    plain = a.encrypt(b"no X3DH header any more")
    v2_pol = VersionPolicy(frozenset({1, 2}), 2)
    *_, a2 = _pair(Keys("wire/v2"), v2_pol, v2_pol)
    v2 = a2.encrypt(b"version 2")
    ratchet = []

    def rcase(tc, comment, flags, reqs, message, expect="ok", acceptable=False, **extra):
        ratchet.append(
            (_case(tc, comment, flags, reqs, message=h(message), **extra), expect, acceptable)
        )

    W = ["WIRE-001"]
    rcase(
        "wire/ratchet/initial",
        "an initial message with its X3DH header",
        ["Valid"],
        ["X3DH-020", "RATCHET-030"],
        initial,
    )
    rcase(
        "wire/ratchet/plain",
        "a message after the first reply: no X3DH header",
        ["Valid"],
        ["X3DH-020", "RATCHET-030"],
        plain,
    )
    rcase(
        "wire/ratchet/version-2-read",
        "version 2, read by a policy that reads it",
        ["Valid"],
        ["VERSION-010", "VERSION-020"],
        v2,
        policy={"reads": [1, 2], "writes": 2},
    )
    rcase(
        "wire/ratchet/version-2-unread",
        "version 2, read by a v1-only reader",
        ["UnsupportedVersion"],
        ["VERSION-001", "VERSION-010"],
        v2,
        "UNSUPPORTED_VERSION",
    )
    rcase(
        "wire/ratchet/truncated",
        "cut in the middle of a field",
        ["Malformed"],
        W,
        plain[: len(plain) // 2],
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/header-not-protobuf",
        "the header bytes do not decode",
        ["Malformed"],
        W,
        _rebuild(plain, header=b"\x0a\xff"),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/short-ratchet-key",
        "a 31-byte ratchet key",
        ["WrongLength"],
        W,
        _rebuild(plain, ratchet_key=bytes(31)),
        "INVALID_KEY",
    )
    rcase(
        "wire/ratchet/long-ratchet-key",
        "a 33-byte ratchet key",
        ["WrongLength"],
        W,
        _rebuild(plain, ratchet_key=bytes(33)),
        "INVALID_KEY",
    )
    pb = wire.RatchetMessage.FromString(plain)
    rcase(
        "wire/ratchet/short-mac",
        "a 31-byte MAC",
        ["Malformed"],
        W,
        _rebuild(plain, mac=pb.mac[:31]),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/ciphertext-not-block-multiple",
        "a ciphertext of 15 bytes",
        ["Malformed"],
        W,
        _rebuild(plain, ciphertext=pb.ciphertext[:15]),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/empty-ciphertext",
        "no ciphertext",
        ["Malformed"],
        W,
        _rebuild(plain, ciphertext=b""),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/x3dh-not-protobuf",
        "the X3DH header bytes do not decode",
        ["Malformed"],
        W,
        _rebuild(initial, x3dh_header=b"\x12\xff"),
        "MALFORMED_MESSAGE",
    )
    x3 = wire.X3DHHeader.FromString(wire.RatchetMessage.FromString(initial).x3dh_header)
    no_id = wire.X3DHHeader()
    no_id.CopyFrom(x3)
    no_id.ClearField("initiator_identity")
    rcase(
        "wire/ratchet/x3dh-without-identity",
        "an X3DH header without the initiator identity",
        ["Malformed"],
        W,
        _rebuild(initial, x3dh_header=no_id.SerializeToString()),
        "MALFORMED_MESSAGE",
    )
    short_ek = wire.X3DHHeader()
    short_ek.CopyFrom(x3)
    short_ek.ephemeral_key = x3.ephemeral_key[:31]
    rcase(
        "wire/ratchet/x3dh-short-ephemeral",
        "a 31-byte ephemeral key",
        ["WrongLength"],
        W,
        _rebuild(initial, x3dh_header=short_ek.SerializeToString()),
        "INVALID_KEY",
    )
    rcase(
        "wire/ratchet/too-large",
        "max_message_size + 1 bytes",
        ["TooLarge"],
        ["WIRE-002"],
        plain,
        "MESSAGE_TOO_LARGE",
        paddedLength=F.max_message_size + 1,
    )
    rcase(
        "wire/ratchet/unknown-field",
        "an unknown field 15 appended to the RatchetMessage",
        ["UnknownField"],
        ["RATCHET-030"],
        plain + b"\x78\x01",
        acceptable=True,
    )
    ratchet_group = {"type": "RatchetMessageDecodeTest", "tests": []}
    for test, expect, acceptable in ratchet:
        ratchet_group["tests"].append(_record(ratchet_group, test, expect, acceptable))

    # no-bundle messages
    from ..no_bundle import seal_no_bundle

    nb = seal_no_bundle(alice, a_dev.installation_id, bob.public, b"sealed", rng=k.rng)
    nb2 = seal_no_bundle(alice, a_dev.installation_id, bob.public, b"sealed", rng=k.rng, version=2)
    nb_tests = []

    def ncase(tc, comment, flags, reqs, message, expect="ok"):
        nb_tests.append((_case(tc, comment, flags, reqs, message=h(message)), expect))

    ncase("wire/no-bundle/valid", "a no-bundle message", ["Valid"], ["NOBUNDLE-010"], nb)
    ncase(
        "wire/no-bundle/version-2-unread",
        "version 2, read by a v1-only reader",
        ["UnsupportedVersion"],
        ["VERSION-001"],
        nb2,
        "UNSUPPORTED_VERSION",
    )
    pbn = wire.NoBundleMessage.FromString(nb)
    hdr = wire.NoBundleHeader.FromString(pbn.header)
    for field_name, tc in (
        ("ephemeral_key", "short-ephemeral"),
        ("recipient_dh_key", "short-recipient-key"),
    ):
        bad = wire.NoBundleHeader()
        bad.CopyFrom(hdr)
        setattr(bad, field_name, getattr(hdr, field_name)[:31])
        ncase(
            f"wire/no-bundle/{tc}",
            f"a 31-byte {field_name}",
            ["WrongLength"],
            W,
            wire.NoBundleMessage(
                header=bad.SerializeToString(), ciphertext=pbn.ciphertext, mac=pbn.mac
            ).SerializeToString(),
            "INVALID_KEY",
        )
    bad = wire.NoBundleHeader()
    bad.CopyFrom(hdr)
    bad.ClearField("sender_identity")
    ncase(
        "wire/no-bundle/without-sender",
        "no sender identity",
        ["Malformed"],
        W,
        wire.NoBundleMessage(
            header=bad.SerializeToString(), ciphertext=pbn.ciphertext, mac=pbn.mac
        ).SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    ncase(
        "wire/no-bundle/short-mac",
        "a 31-byte MAC",
        ["Malformed"],
        W,
        wire.NoBundleMessage(
            header=pbn.header, ciphertext=pbn.ciphertext, mac=pbn.mac[:31]
        ).SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    nb_group = {"type": "NoBundleMessageDecodeTest", "tests": []}
    for test, expect in nb_tests:
        nb_group["tests"].append(_record(nb_group, test, expect))

    # envelopes
    bundle_a = Bundle.create(alice, [InstallationPreKeys.of(a_dev)], NOW).to_bytes()
    copies = [
        {"recipientInstallationId": h(b_dev.installation_id), "kind": "ratchet", "body": h(plain)},
        {"recipientInstallationId": h(k.raw(16)), "kind": "ratchet", "body": h(initial)},
        {"recipientInstallationId": "", "kind": "no_bundle", "body": h(nb)},
    ]
    enc_group = {"type": "EnvelopeEncodeTest", "tests": []}
    enc = _case(
        "wire/envelope/encode-fanout",
        "three copies and the sender's bundle",
        ["Fanout"],
        ["WIRE-040", "BUNDLE-030"],
        version=1,
        senderInstallationId=h(a_dev.installation_id),
        copies=copies,
        senderBundle=h(bundle_a),
    )
    enc_group["tests"].append(_record(enc_group, enc))
    envelope = bytes.fromhex(enc["envelope"])
    dec_tests = []

    def ecase(tc, comment, flags, reqs, data, expect="ok"):
        dec_tests.append((_case(tc, comment, flags, reqs, envelope=h(data)), expect))

    ecase(
        "wire/envelope/decode-fanout",
        "three copies and the sender's bundle",
        ["Fanout"],
        ["WIRE-040", "BUNDLE-030"],
        envelope,
    )
    env = wire.Envelope.FromString(envelope)
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.version = 2
    ecase(
        "wire/envelope/version-2-unread",
        "envelope version 2",
        ["UnsupportedVersion"],
        ["VERSION-001"],
        bad.SerializeToString(),
        "UNSUPPORTED_VERSION",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.sender_installation_id = env.sender_installation_id[:15]
    ecase(
        "wire/envelope/short-sender-id",
        "a 15-byte sender installation id",
        ["Malformed"],
        ["WIRE-001", "KEYS-004"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.messages[0].recipient_installation_id = env.messages[0].recipient_installation_id[:15]
    ecase(
        "wire/envelope/short-recipient-id",
        "a 15-byte recipient installation id",
        ["Malformed"],
        ["WIRE-001", "WIRE-040"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.messages[2].recipient_installation_id = b"\x01" * 16
    ecase(
        "wire/envelope/addressed-no-bundle",
        "a no-bundle copy addressed to an installation",
        ["Malformed"],
        ["WIRE-040"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.messages.add(recipient_installation_id=b"\x02" * 16)
    ecase(
        "wire/envelope/copy-without-body",
        "a copy with neither body",
        ["Malformed"],
        ["WIRE-040"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    dec_group = {"type": "EnvelopeDecodeTest", "tests": []}
    for test, expect in dec_tests:
        dec_group["tests"].append(_record(dec_group, test, expect))
    return _file(
        "PARLEY-WIRE",
        "wire.schema.json",
        ["The wire codec: messages and envelopes, their decoded fields, malformed inputs."],
        WIRE_NOTES,
        [ratchet_group, nb_group, enc_group, dec_group],
    )


# == versioning ==================================================================

VERSION_NOTES = {
    "Negotiation": {"bugType": "FUNCTIONALITY", "description": "VERSION-010's rule."},
    "StagedMigration": {
        "bugType": "FUNCTIONALITY",
        "description": "A row of the staged migration table (VERSION-020).",
    },
    "NoCommonVersion": {"bugType": "FUNCTIONALITY", "description": "No version in common."},
    "InvalidPolicy": {
        "bugType": "FUNCTIONALITY",
        "description": "A local policy that writes a version it does not read.",
    },
    "VersionTamper": {
        "bugType": "AUTH_BYPASS",
        "description": "The version in a header changed in transit: the MAC covers it.",
    },
}


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


# == scenarios =====================================================================

SCENARIO_NOTES = {
    "InOrder": {"bugType": "BASIC", "description": "Messages delivered in order."},
    "RatchetTurns": {"bugType": "BASIC", "description": "Both sides send: DH ratchet steps."},
    "OutOfOrder": {"bugType": "FUNCTIONALITY", "description": "Messages delivered out of order."},
    "SkippedKeys": {"bugType": "FUNCTIONALITY", "description": "Stored skipped message keys."},
    "Duplicate": {"bugType": "FUNCTIONALITY", "description": "A message delivered twice."},
    "MaxSkip": {"bugType": "EDGE_CASE", "description": "At or beyond MAX_SKIP (1000)."},
    "Tampered": {"bugType": "AUTH_BYPASS", "description": "A message changed in transit."},
    "StateUnchanged": {
        "bugType": "MISSING_STEP",
        "description": "After the rejected message the state is byte-for-byte unchanged and "
        "the next valid message decrypts (RATCHET-040).",
    },
    "BadPadding": {
        "bugType": "FUNCTIONALITY",
        "description": "A correct MAC over a ciphertext whose PKCS#7 padding is invalid.",
    },
    "Replay": {"bugType": "MISSING_STEP", "description": "An initial message replayed."},
    "PreKeys": {"bugType": "FUNCTIONALITY", "description": "Prekey use and deletion."},
    "BundleCheck": {"bugType": "MISSING_STEP", "description": "Bundle checks before X3DH."},
    "LowOrderPoint": {"bugType": "EDGE_CASE", "description": "A small-order X25519 key."},
    "X3dhHeader": {"bugType": "FUNCTIONALITY", "description": "The X3DH header's life."},
    "StateExport": {"bugType": "FUNCTIONALITY", "description": "Export and import of state."},
    "LocalMisuse": {"bugType": "FUNCTIONALITY", "description": "A local error code."},
    "NoBundle": {"bugType": "FUNCTIONALITY", "description": "A message without a bundle."},
    "Fanout": {"bugType": "FUNCTIONALITY", "description": "One message, several installations."},
    "Compromise": {
        "bugType": "FUNCTIONALITY",
        "description": "A party's state leaks; 'attack' steps say which recorded messages the "
        "leaked state can (derivable) and cannot decrypt (forward secrecy, post-compromise "
        "security).",
    },
    "VersionTamper": VERSION_NOTES["VersionTamper"],
    "StagedMigration": VERSION_NOTES["StagedMigration"],
    "NoCommonVersion": VERSION_NOTES["NoCommonVersion"],
}


class Build:
    """A scenario test, recorded step by step on the reference."""

    def __init__(self, tc_id: str, comment: str, flags: list[str], requirements: list[str]):
        self.k = Keys(tc_id)
        self.test = _case(tc_id, comment, flags, requirements, parties={}, steps=[])
        self.run: Scenario | None = None
        self._n = 0

    def party(
        self,
        name: str,
        *,
        same_account_as: str | None = None,
        opks: int = 0,
        old_spk: bool = False,
        policy: tuple | None = None,
    ) -> dict:
        k = self.k
        if same_account_as:
            other = self.test["parties"][same_account_as]
            sign, dh = other["signingPrivateKey"], other["dhPrivateKey"]
        else:
            sign, dh = k.key(), k.key()
        spks = [{"id": 2 if old_spk else 1, "privateKey": k.key(), "createdAt": NOW - DAY}]
        if old_spk:
            spks.append(
                {
                    "id": 1,
                    "privateKey": k.key(),
                    "createdAt": NOW - 9 * DAY,
                    "supersededAt": NOW - DAY,
                }
            )
        party = {
            "side": "a" if name.startswith("alice") else "b",
            "signingPrivateKey": sign,
            "dhPrivateKey": dh,
            "installationId": k.raw(16).hex(),
            "signedPreKeys": spks,
            "oneTimePreKeys": [{"id": 100 + i, "privateKey": k.key()} for i in range(opks)],
        }
        if policy:
            party["policy"] = {"reads": list(policy[0]), "writes": policy[1]}
        self.test["parties"][name] = party
        return party

    def iid(self, party: str) -> str:
        return self.test["parties"][party]["installationId"]

    def step(self, op: str, expect: str = "ok", **fields) -> dict:
        if self.run is None:
            self.run = Scenario(self.test, _driver(), record=True)
            self.run.start()
        step = {"op": op, **fields}
        self.test["steps"].append(step)
        self.run.do(step)
        got = step.get("error", "ok")
        if got != expect:
            raise AssertionError(
                f"{self.test['tcId']} step {len(self.test['steps']) - 1} "
                f"({op}): expected {expect}, the reference gave {got}"
            )
        return step

    def value(self, name: str) -> bytes:
        return self.run.values[name]

    # shorthands
    def bundle(self, *parties: str, name: str | None = None, now: int = NOW, **kw) -> str:
        name = name or "bundle-" + parties[0]
        self.step("bundle", parties=list(parties), now=now, name=name, **kw)
        return name

    def initiate(
        self,
        party,
        session,
        bundle,
        remote,
        *,
        opk=None,
        now=NOW,
        expect="ok",
        bundle_hex: bytes | None = None,
    ):
        source = {"inputHex": h(bundle_hex)} if bundle_hex is not None else {"input": bundle}
        return self.step(
            "initiate",
            expect,
            party=party,
            session=session,
            **source,
            remoteInstallationId=self.iid(remote) if remote in self.test["parties"] else remote,
            now=now,
            **({"oneTimePreKeyId": opk} if opk else {}),
            ephemeralPrivateKey=self.k.key(),
            ratchetPrivateKey=self.k.key(),
        )

    def send(self, session: str, words: str, name: str | None = None, count: int = 1) -> str:
        self._n += 1
        name = name or f"m{self._n}"
        extra = {"count": count} if count > 1 else {}
        self.step("encrypt", session=session, plaintext=text(words), name=name, **extra)
        return name

    def respond(
        self, party, session, remote, message=None, *, raw=None, expect="ok", unchanged=False
    ):
        source = {"inputHex": h(raw)} if raw is not None else {"input": message}
        return self.step(
            "respond",
            expect,
            party=party,
            session=session,
            **source,
            remoteInstallationId=self.iid(remote),
            ratchetPrivateKey=self.k.key(),
            **({"installationUnchanged": True} if unchanged else {}),
        )

    def recv(self, session, message=None, *, raw=None, expect="ok", unchanged=None):
        source = {"inputHex": h(raw)} if raw is not None else {"input": message}
        if unchanged is None:
            unchanged = expect != "ok"
        return self.step(
            "decrypt",
            expect,
            session=session,
            **source,
            ratchetPrivateKey=self.k.key(),
            **({"stateUnchanged": True} if unchanged else {}),
        )

    def done(self) -> dict:
        errors = [s["error"] for s in self.test["steps"] if "error" in s]
        self.test["result"] = "invalid" if errors else "valid"
        if errors:
            self.test["error"] = errors[0]
        # the clock and every key are inputs; outputs follow in each step
        return self.test


def two(b: Build, opks=1, **kw):
    b.party("alice", **kw.get("alice", {}))
    b.party("bob", opks=opks, **kw.get("bob", {}))
    return b.bundle("bob")


def tamper(
    message: bytes,
    *,
    mac=False,
    ciphertext=False,
    header=None,
    header_extra=b"",
    x3dh=None,
    x3dh_extra=b"",
) -> bytes:
    pb = wire.RatchetMessage.FromString(message)
    if mac:
        m = bytearray(pb.mac)
        m[-1] ^= 0x01
        pb.mac = bytes(m)
    if ciphertext:
        c = bytearray(pb.ciphertext)
        c[0] ^= 0x01
        pb.ciphertext = bytes(c)
    if header:
        hd = wire.RatchetHeader.FromString(pb.header)
        for key, value in header.items():
            setattr(hd, key, value)
        pb.header = hd.SerializeToString()
    pb.header += header_extra
    if x3dh is not None:
        x = wire.X3DHHeader.FromString(pb.x3dh_header)
        x3dh(x)
        pb.x3dh_header = x.SerializeToString()
    if x3dh_extra:
        pb.x3dh_header += x3dh_extra
    return pb.SerializeToString()


def bad_padding_message(state: bytes) -> bytes:
    """The sender's next message, with a correct MAC over a badly padded ciphertext."""
    session = load_session(state)
    ratchet = session.ratchet
    _, mk = ratchet.sending_chain.next(F)
    enc_key, mac_key, iv = F.message_keys(mk.key)
    block = b"bad padding!!!\x00\x11"  # last byte 0x11 > 16: invalid PKCS#7
    # CBC is prefix-stable: the first block of the padded encryption is the
    # raw encryption of `block`, so dropping the padding block leaves a
    # ciphertext whose plaintext ends in an invalid padding byte.
    ciphertext = P.aes256_cbc_encrypt(enc_key, iv, block)[: P.AES_BLOCK_SIZE]
    header = encode_ratchet_header(
        ratchet.version,
        ratchet.sending_ratchet.public,
        ratchet.previous_sending_chain_length,
        mk.index,
    )
    x3dh = encode_x3dh_header(session.x3dh_header()) if session.pending_x3dh else b""
    mac = P.hmac_sha256(mac_key, F.mac_input(ratchet.associated_data, header, ciphertext, x3dh))
    return encode_ratchet_message(header, ciphertext, mac, x3dh)


R_SESSION = ["X3DH-001", "RATCHET-001", "RATCHET-002", "RATCHET-020", "RATCHET-021"]


def session_scenarios() -> list[dict]:
    out = []

    b = Build(
        "session/in-order-with-ratchet-turns",
        "A sends 3, B replies 2, A sends 2",
        ["InOrder", "RatchetTurns", "X3dhHeader"],
        [*R_SESSION, "RATCHET-033", "X3DH-020", "PREKEY-005"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[1])
    b.recv("ba", m[2])
    r = [b.send("ba", f"bob {i}") for i in range(2)]
    b.recv("ab", r[0])
    b.recv("ab", r[1])
    m2 = [b.send("ab", f"alice again {i}") for i in range(2)]  # no X3DH header any more
    b.recv("ba", m2[0])
    b.recv("ba", m2[1])
    out.append(b.done())

    b = Build(
        "session/without-one-time-prekey",
        "X3DH with three DH outputs",
        ["InOrder"],
        [*R_SESSION, "X3DH-010"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    b.respond("bob", "ba", "alice", b.send("ab", "hi"))
    b.recv("ab", b.send("ba", "hello"))
    out.append(b.done())

    b = Build(
        "session/superseded-signed-prekey",
        "B rotated; A used the old bundle within the grace period",
        ["PreKeys"],
        [*R_SESSION, "PREKEY-001", "PREKEY-004"],
    )
    b.party("alice")
    b.party("bob", old_spk=True)
    # the bundle Bob signed before the rotation: a twin installation whose current
    # signed prekey is the one now superseded
    twin = dict(b.test["parties"]["bob"])
    b.test["parties"]["bob-old"] = {**twin, "signedPreKeys": [twin["signedPreKeys"][1]]}
    bun = b.bundle("bob-old", name="old-bundle", now=NOW - 2 * DAY)
    b.initiate("alice", "ab", bun, "bob")
    b.respond("bob", "ba", "alice", b.send("ab", "to your old prekey"))
    out.append(b.done())

    b = Build(
        "session/out-of-order-in-chain",
        "m2, m0, m1 of one chain",
        ["OutOfOrder", "SkippedKeys"],
        [*R_SESSION, "RATCHET-031", "RATCHET-032"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[2])
    b.recv("ba", m[0])
    b.recv("ba", m[1])
    out.append(b.done())

    b = Build(
        "session/out-of-order-across-turn",
        "a late message of the previous chain arrives after the next chain's first (PN)",
        ["OutOfOrder", "SkippedKeys", "RatchetTurns"],
        [*R_SESSION, "RATCHET-033", "RATCHET-031"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ab", b.send("ba", "bob"))
    late = b.send("ab", "alice new chain")
    b.recv("ba", late)
    b.recv("ba", m[2])
    b.recv("ba", m[1])
    out.append(b.done())

    b = Build(
        "session/skipped-key-used-once",
        "a late message decrypts once; its second copy is a duplicate",
        ["SkippedKeys", "Duplicate", "StateUnchanged"],
        ["RATCHET-032", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[2])
    b.recv("ba", m[1])
    b.recv("ba", m[1], expect="DUPLICATE_MESSAGE")
    b.recv("ba", b.send("ab", "still fine"))
    out.append(b.done())

    b = Build(
        "session/duplicate-in-chain",
        "a message delivered twice in order",
        ["Duplicate", "StateUnchanged"],
        ["RATCHET-036", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(2)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[1])
    b.recv("ba", m[1], expect="DUPLICATE_MESSAGE")
    b.recv("ba", b.send("ab", "next"))
    out.append(b.done())

    b = Build(
        "session/duplicate-retired-chain",
        "a copy of a message of a chain that was replaced",
        ["Duplicate", "RatchetTurns", "StateUnchanged"],
        ["RATCHET-036", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(2)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[1])
    b.recv("ab", b.send("ba", "bob"))
    b.recv("ba", b.send("ab", "alice chain 2"))
    b.recv("ba", m[1], expect="DUPLICATE_MESSAGE")
    b.recv("ba", b.send("ab", "still fine"))
    out.append(b.done())

    b = Build(
        "session/max-skip-at-limit",
        "message 1000 first: exactly MAX_SKIP keys skipped",
        ["MaxSkip", "SkippedKeys"],
        ["RATCHET-034", "RATCHET-031"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    first = b.send("ab", "first")
    b.respond("bob", "ba", "alice", first)
    b.recv("ab", b.send("ba", "reply"))
    m0 = b.send("ab", "n=0")
    far = b.send("ab", "n=1000", count=1000)  # messages 1..1000; the last is kept
    b.recv("ba", far)
    b.recv("ba", m0)
    out.append(b.done())

    b = Build(
        "session/max-skip-exceeded",
        "after message 0, message 1002 would skip "
        "MAX_SKIP + 1 keys; message 1001 (MAX_SKIP keys) is then accepted",
        ["MaxSkip", "StateUnchanged"],
        ["RATCHET-034", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    b.recv("ba", b.send("ab", "n=0"))
    b.send("ab", "n=1..1000", count=1000)
    x = b.send("ab", "n=1001")
    y = b.send("ab", "n=1002")
    b.recv("ba", y, expect="TOO_MANY_SKIPPED_MESSAGES")
    b.recv("ba", x)
    out.append(b.done())

    b = Build(
        "session/max-skip-exceeded-new-chain",
        "the first message of a new chain has N = 1001",
        ["MaxSkip", "StateUnchanged", "RatchetTurns"],
        ["RATCHET-034", "RATCHET-033", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    m0 = b.send("ab", "n=0")
    far = b.send("ab", "n=1001", count=1001)
    b.recv("ba", far, expect="TOO_MANY_SKIPPED_MESSAGES")
    b.recv("ba", m0)
    out.append(b.done())

    for tc, comment, kw, reqs in (
        ("mac", "the last bit of the MAC flipped", {"mac": True}, ["RATCHET-013"]),
        ("ciphertext", "a bit of the ciphertext flipped", {"ciphertext": True}, ["RATCHET-013"]),
        (
            "header-n",
            "N changed in the header: a later key, then MAC failure",
            {"header": {"message_number": 5}},
            ["RATCHET-013", "RATCHET-030"],
        ),
        (
            "header-pn",
            "PN changed in the header",
            {"header": {"previous_chain_length": 3}},
            ["RATCHET-013", "RATCHET-030"],
        ),
        (
            "header-unknown-field",
            "an unknown field appended to the header bytes: the "
            "decoded header is the same, the bytes are not",
            {"header_extra": b"\x28\x01"},
            ["RATCHET-013", "RATCHET-030"],
        ),
        (
            "header-version",
            "version 1 changed to 2 (the reader reads 1 and 2)",
            {"header": {"version": 2}},
            ["VERSION-001", "RATCHET-013"],
        ),
    ):
        b = Build(
            f"session/tampered-{tc}",
            comment,
            ["Tampered", "StateUnchanged"],
            [*reqs, "RATCHET-040"],
        )
        b.party("alice")
        b.party("bob", opks=1, policy=((1, 2), 1) if tc == "header-version" else None)
        bun = b.bundle("bob")
        b.initiate("alice", "ab", bun, "bob", opk=100)
        b.respond("bob", "ba", "alice", b.send("ab", "first"))
        m1 = b.send("ab", "second")
        b.recv("ba", raw=tamper(b.value(m1), **kw), expect="INVALID_MAC")
        b.recv("ba", m1)
        out.append(b.done())

    b = Build(
        "session/tampered-after-ratchet-turn",
        "a forged first message of a new chain changes nothing; the real one then decrypts",
        ["Tampered", "StateUnchanged", "RatchetTurns"],
        ["RATCHET-033", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    r1 = b.send("ba", "reply")
    b.recv("ab", raw=tamper(b.value(r1), mac=True), expect="INVALID_MAC")
    b.recv("ab", r1)
    out.append(b.done())

    b = Build(
        "session/bad-padding",
        "a correct MAC over a badly padded ciphertext",
        ["BadPadding", "StateUnchanged"],
        ["RATCHET-020", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.step("exportSession", session="ab", name="alice-state")
    forged = bad_padding_message(b.value("alice-state"))
    b.recv("ba", raw=forged, expect="INVALID_PADDING")
    b.recv("ba", b.send("ab", "second"))
    out.append(b.done())

    # initial messages
    b = Build(
        "session/initial-tampered-x3dh-header",
        "unknown field appended to the X3DH "
        "header bytes: same SK, but the MAC covers the bytes as sent",
        ["Tampered", "X3dhHeader"],
        ["RATCHET-013", "X3DH-020", "PREKEY-005"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh_extra=b"\x30\x01"),
        expect="INVALID_MAC",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    b = Build(
        "session/initial-opk-removed",
        "the one-time prekey id removed from the X3DH "
        "header: another SK, and the prekey is not consumed",
        ["Tampered", "PreKeys"],
        ["X3DH-010", "PREKEY-005", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=lambda x: x.ClearField("one_time_prekey_id")),
        expect="INVALID_MAC",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    b = Build(
        "session/initial-replayed",
        "the same initial message accepted twice",
        ["Replay"],
        ["X3DH-040", "RATCHET-040"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    m1 = b.send("ab", "first")
    b.respond("bob", "ba", "alice", m1)
    b.respond("bob", "ba2", "alice", m1, expect="REPLAYED_INITIAL_MESSAGE", unchanged=True)
    out.append(b.done())

    b = Build(
        "session/initial-replay-after-failure",
        "a forged initial message is not "
        "recorded by the replay guard; the real one is accepted afterwards",
        ["Replay", "Tampered"],
        ["X3DH-040"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), mac=True),
        expect="INVALID_MAC",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    b = Build(
        "session/one-time-prekey-used-twice",
        "a second initiator with the same one-time prekey after the first was accepted",
        ["PreKeys"],
        ["PREKEY-005", "X3DH-041"],
    )
    b.party("alice")
    b.party("alice2", same_account_as="alice")
    b.party("bob", opks=1)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.initiate("alice2", "a2b", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.respond(
        "bob", "ba2", "alice2", b.send("a2b", "second"), expect="UNKNOWN_PREKEY", unchanged=True
    )
    out.append(b.done())

    b = Build(
        "session/unknown-signed-prekey",
        "the X3DH header names a signed prekey Bob does not have",
        ["PreKeys"],
        ["X3DH-041"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=lambda x: setattr(x, "signed_prekey_id", 99)),
        expect="UNKNOWN_PREKEY",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    def low_order(x):
        x.ephemeral_key = LOW_ORDER

    b = Build(
        "session/initial-low-order-ephemeral",
        "the X3DH header's ephemeral key is a low-order point",
        ["LowOrderPoint"],
        ["X3DH-011"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=low_order),
        expect="ZERO_SHARED_SECRET",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    def bad_binding(x):
        sig = bytearray(x.initiator_identity.binding_signature)
        sig[0] ^= 1
        x.initiator_identity.binding_signature = bytes(sig)

    b = Build(
        "session/initial-bad-identity-binding",
        "the initiator identity's binding signature fails",
        ["Tampered"],
        ["KEYS-003"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=bad_binding),
        expect="INVALID_IDENTITY_BINDING",
        unchanged=True,
    )
    out.append(b.done())

    b = Build(
        "session/respond-without-x3dh-header",
        "Respond to a message that is not an initial message",
        ["X3dhHeader"],
        ["X3DH-020"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    b.respond(
        "bob", "ba2", "alice", b.send("ab", "plain"), expect="MALFORMED_MESSAGE", unchanged=True
    )
    out.append(b.done())

    b = Build(
        "session/foreign-x3dh-header",
        "an initial message of another session is delivered to an existing session",
        ["X3dhHeader", "StateUnchanged"],
        ["X3DH-020", "RATCHET-040"],
    )
    b.party("alice")
    b.party("bob", opks=0)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob")
    b.initiate("alice", "ab2", bun, "bob")
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ba", b.send("ab2", "other session"), expect="MALFORMED_MESSAGE")
    b.recv("ba", b.send("ab", "second"))
    out.append(b.done())

    # bundles at session start
    for tc, now, _, want, comment, reqs in (
        (
            "stale-bundle",
            NOW + 31 * DAY,
            {},
            "BUNDLE_STALE",
            "the bundle is 31 days old",
            ["BUNDLE-020"],
        ),
        (
            "future-bundle",
            NOW - 600,
            {},
            "BUNDLE_TIMESTAMP_IN_FUTURE",
            "the bundle is signed 10 minutes ahead of the initiator's clock",
            ["BUNDLE-020"],
        ),
    ):
        b = Build(f"session/initiate-{tc}", comment, ["BundleCheck"], [*reqs, "X3DH-001"])
        bun = two(b)
        b.initiate("alice", "ab", bun, "bob", opk=100, now=now, expect=want)
        b.initiate("alice", "ab", bun, "bob", opk=100, now=NOW + DAY)
        out.append(b.done())

    b = Build(
        "session/initiate-unknown-installation",
        "the bundle has no entry for the installation asked for",
        ["BundleCheck"],
        ["X3DH-001", "BUNDLE-001"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "00" * 16, expect="UNKNOWN_INSTALLATION")
    out.append(b.done())

    b = Build(
        "session/initiate-unknown-one-time-prekey",
        "a one-time prekey id the bundle does not offer",
        ["BundleCheck", "PreKeys"],
        ["X3DH-001", "X3DH-041"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=7, expect="UNKNOWN_PREKEY")
    out.append(b.done())

    b = Build(
        "session/initiate-bad-signature",
        "a bundle whose signature fails",
        ["BundleCheck"],
        ["BUNDLE-011", "X3DH-001"],
    )
    bun = two(b)
    pb = wire.Bundle.FromString(b.value(bun))
    sig = bytearray(pb.signature)
    sig[1] ^= 4
    pb.signature = bytes(sig)
    b.initiate(
        "alice",
        "ab",
        None,
        "bob",
        bundle_hex=pb.SerializeToString(deterministic=True),
        expect="BUNDLE_SIGNATURE_INVALID",
    )
    out.append(b.done())

    b = Build(
        "session/initiate-low-order-signed-prekey",
        "a validly signed bundle whose signed prekey is a low-order point",
        ["BundleCheck", "LowOrderPoint"],
        ["X3DH-011"],
    )
    b.party("alice")
    bob = b.party("bob")
    ident = IdentityKeyPair.from_private_bytes(
        bytes.fromhex(bob["signingPrivateKey"]), bytes.fromhex(bob["dhPrivateKey"])
    )
    entry = InstallationPreKeys(bytes.fromhex(bob["installationId"]), 1, LOW_ORDER_1, (1,))
    bad = Bundle.create(ident, [entry], NOW).to_bytes()
    b.initiate("alice", "ab", None, "bob", bundle_hex=bad, expect="ZERO_SHARED_SECRET")
    out.append(b.done())

    # state
    b = Build(
        "session/export-import-continue",
        "B's state is exported mid-session and imported; the import continues the session",
        ["StateExport", "SkippedKeys"],
        ["STORE-010", "STORE-004", "RATCHET-031"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[2])
    b.step("exportSession", session="ba", name="saved")
    b.step("importSession", party="bob", input="saved", session="ba-restored")
    b.recv("ba-restored", m[1])
    b.recv("ab", b.send("ba-restored", "from the restored session"))
    out.append(b.done())

    b = Build(
        "session/import-newer-format",
        "a state record of format_version 2",
        ["StateExport"],
        ["STORE-010"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.step("exportSession", session="ab", name="saved")
    record = state_pb2.SessionState.FromString(b.value("saved"))
    record.format_version = 2
    b.step(
        "importSession",
        "STATE_FORMAT",
        party="alice",
        inputHex=h(record.SerializeToString()),
        session="x",
    )
    b.step("importSession", "STATE_FORMAT", party="alice", inputHex="0aff", session="y")
    out.append(b.done())

    b = Build(
        "session/encrypt-without-sending-chain",
        "a session state with no sending chain cannot encrypt",
        ["LocalMisuse", "StateExport"],
        ["RATCHET-002", "ERR-001"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.step("exportSession", session="ab", name="saved")
    record = state_pb2.SessionState.FromString(b.value("saved"))
    record.ClearField("sending_chain_key")
    record.sending_message_number = 0
    b.step(
        "importSession", party="alice", inputHex=h(record.SerializeToString()), session="no-chain"
    )
    b.step("encrypt", "SESSION_STATE", session="no-chain", plaintext=text("x"), name="never")
    out.append(b.done())
    return out


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
            ["VERSION-010", "VERSION-020", "VERSION-002"],
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


def compromise_scenarios() -> list[dict]:
    out = []
    b = Build(
        "compromise/responder-state-leaks",
        "Bob's state leaks after he received m0 and "
        "m2 (m1 skipped). The leaked state reads m1 (a stored skipped key) and m3 (same "
        "chain), and even m5 (Alice's next chain still uses Bob's leaked ratchet key), "
        "but not m0 or m2 (forward secrecy) and not m7, sent after Bob's fresh ratchet "
        "key came into use (post-compromise security)",
        ["Compromise"],
        ["RATCHET-033", "RATCHET-032", "RATCHET-031", "STORE-004"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m0, _m1, m2 = (b.send("ab", f"m{i}", name=f"m{i}") for i in range(3))
    b.respond("bob", "ba", "alice", m0)
    b.recv("ba", m2)
    b.step("exportSession", session="ba", name="leak")
    m3 = b.send("ab", "m3", name="m3")
    b.recv("ba", m3)
    b.recv("ab", b.send("ba", "m4", name="m4"))
    m5 = b.send("ab", "m5", name="m5")
    b.recv("ba", m5)
    b.recv("ab", b.send("ba", "m6", name="m6"))
    m7 = b.send("ab", "m7", name="m7")
    b.recv("ba", m7)
    for name in ("m0", "m2", "m1", "m3", "m5", "m7"):
        b.step("attack", party="bob", state="leak", input=name, ratchetPrivateKey=b.k.key())
    want = {"m0": False, "m2": False, "m1": True, "m3": True, "m5": True, "m7": False}
    for s in b.test["steps"]:
        if s["op"] == "attack":
            assert s["derivable"] is want[s["input"]], s
    out.append(b.done())

    b = Build(
        "compromise/initiator-state-leaks",
        "Alice's state leaks after she received "
        "r0 and r1: the leaked state reads r2 (same chain) and r3 (Bob's next chain "
        "still uses Alice's leaked ratchet key), but neither r0, r1 (already received) "
        "nor r4, sent after Alice's fresh ratchet key came into use",
        ["Compromise"],
        ["RATCHET-033", "STORE-004"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "hello"))
    r0, r1, r2 = (b.send("ba", f"r{i}", name=f"r{i}") for i in range(3))
    b.recv("ab", r0)
    b.recv("ab", r1)
    b.step("exportSession", session="ab", name="leak")
    b.recv("ab", r2)
    b.recv("ba", b.send("ab", "a1", name="a1"))
    b.recv("ab", b.send("ba", "r3", name="r3"))
    b.recv("ba", b.send("ab", "a2", name="a2"))
    b.recv("ab", b.send("ba", "r4", name="r4"))
    for name in ("r0", "r1", "r2", "r3", "r4"):
        b.step("attack", party="alice", state="leak", input=name, ratchetPrivateKey=b.k.key())
    want = {"r0": False, "r1": False, "r2": True, "r3": True, "r4": False}
    for s in b.test["steps"]:
        if s["op"] == "attack":
            assert s["derivable"] is want[s["input"]], s
    out.append(b.done())
    return out


def no_bundle_scenarios() -> list[dict]:
    out = []
    b = Build(
        "no-bundle/first-contact",
        "A knows only B's identity: a no-bundle message in "
        "an envelope with A's bundle; B reads it (not forward secret) and starts a "
        "forward-secret session with A's bundle",
        ["NoBundle"],
        ["NOBUNDLE-001", "NOBUNDLE-002", "NOBUNDLE-003", "NOBUNDLE-010", "BUNDLE-030", "WIRE-040"],
    )
    b.party("alice", opks=1)
    b.party("bob")
    bun_a = b.bundle("alice")
    b.step(
        "sealNoBundle",
        party="alice",
        recipient="bob",
        plaintext=text("hi, it's Alice"),
        ephemeralPrivateKey=b.k.key(),
        version=1,
        name="sealed",
    )
    b.step(
        "encodeEnvelope",
        party="alice",
        version=1,
        senderInstallationId=b.iid("alice"),
        copies=[{"recipientInstallationId": "", "kind": "no_bundle", "body": "sealed"}],
        senderBundle=bun_a,
        name="env",
    )
    b.step("decodeEnvelope", party="bob", input="env", copyNames=["sealed-copy"])
    b.step("openNoBundle", party="bob", input="sealed-copy", senderInstallationId=b.iid("alice"))
    b.initiate("bob", "ba", bun_a, "alice", opk=100)
    b.respond("alice", "ab", "bob", b.send("ba", "a forward-secret reply"))
    b.recv("ba", b.send("ab", "good"))
    out.append(b.done())

    cases = [
        (
            "wrong-recipient",
            "sealed for Carol, opened by Bob",
            "MALFORMED_MESSAGE",
            ["NOBUNDLE-010"],
        ),
        ("tampered-mac", "the last bit of the MAC flipped", "INVALID_MAC", ["NOBUNDLE-010"]),
        (
            "wrong-sender-installation",
            "opened with another sender installation id (AD)",
            "INVALID_MAC",
            ["NOBUNDLE-010"],
        ),
        (
            "bad-sender-binding",
            "the sender identity's binding signature fails",
            "INVALID_IDENTITY_BINDING",
            ["KEYS-003"],
        ),
        (
            "low-order-ephemeral",
            "the ephemeral key is a low-order point",
            "ZERO_SHARED_SECRET",
            ["X3DH-011"],
        ),
        (
            "version-2-unread",
            "version 2, the reader reads 1",
            "UNSUPPORTED_VERSION",
            ["VERSION-001"],
        ),
    ]
    for tc, comment, want, reqs in cases:
        b = Build(f"no-bundle/{tc}", comment, ["NoBundle", "Tampered"], reqs)
        b.party("alice", policy=((1, 2), 2))
        b.party("bob")
        b.party("carol")
        b.step(
            "sealNoBundle",
            party="alice",
            recipient="carol" if tc == "wrong-recipient" else "bob",
            plaintext=text("sealed"),
            ephemeralPrivateKey=b.k.key(),
            version=2 if "version" in tc else 1,
            name="sealed",
        )
        msg = wire.NoBundleMessage.FromString(b.value("sealed"))
        header = wire.NoBundleHeader.FromString(msg.header)
        if tc == "tampered-mac":
            mac = bytearray(msg.mac)
            mac[-1] ^= 1
            msg.mac = bytes(mac)
        elif tc == "bad-sender-binding":
            sig = bytearray(header.sender_identity.binding_signature)
            sig[3] ^= 1
            header.sender_identity.binding_signature = bytes(sig)
        elif tc == "low-order-ephemeral":
            header.ephemeral_key = LOW_ORDER
        if tc in ("bad-sender-binding", "low-order-ephemeral"):
            msg.header = header.SerializeToString()
        sender = b.iid("carol") if tc == "wrong-sender-installation" else b.iid("alice")
        b.step(
            "openNoBundle",
            want,
            party="bob",
            inputHex=h(msg.SerializeToString()),
            senderInstallationId=sender,
        )
        out.append(b.done())
    return out


def fanout_scenarios() -> list[dict]:
    b = Build(
        "fanout/two-recipients-and-own-device",
        "A writes once to both of B's "
        "installations and to her own second installation: one envelope, three copies, "
        "A's bundle attached",
        ["Fanout"],
        ["WIRE-040", "BUNDLE-001", "BUNDLE-030", "X3DH-001", "BUNDLE-004"],
    )
    b.party("alice")
    b.party("alice2", same_account_as="alice", opks=1)
    b.party("bob", opks=1)
    b.party("bob2", same_account_as="bob", opks=1)
    bun_b = b.bundle("bob", "bob2", name="bundle-b")
    bun_a = b.bundle("alice", "alice2", name="bundle-a")
    b.initiate("alice", "a-b", bun_b, "bob", opk=100)
    b.initiate("alice", "a-b2", bun_b, "bob2", opk=100)
    b.initiate("alice", "a-a2", bun_a, "alice2", opk=100)
    names = [b.send(s, "hello everyone") for s in ("a-b", "a-b2", "a-a2")]
    copies = [
        {"recipientInstallationId": b.iid(p), "kind": "ratchet", "body": n}
        for p, n in zip(("bob", "bob2", "alice2"), names, strict=True)
    ]
    b.step(
        "encodeEnvelope",
        party="alice",
        version=1,
        senderInstallationId=b.iid("alice"),
        copies=copies,
        senderBundle=bun_a,
        name="env",
    )
    for party in ("bob", "bob2", "alice2"):
        b.step(
            "decodeEnvelope",
            party=party,
            input="env",
            copyNames=[f"{party}:c-b", f"{party}:c-b2", f"{party}:c-a2"],
        )
    b.respond("bob", "b-a", "alice", "bob:c-b")
    b.respond("bob2", "b2-a", "alice", "bob2:c-b2")
    b.respond("alice2", "a2-a", "alice", "alice2:c-a2")
    b.recv("a-b", b.send("b-a", "from bob"))
    b.recv("a-b2", b.send("b2-a", "from bob2"))
    return [b.done()]


def scenario_file(name: str, algorithm: str, header: str, tests: list[dict]) -> dict:
    return _file(
        algorithm,
        f"{name}.schema.json",
        [header],
        SCENARIO_NOTES,
        [{"type": "ScenarioTest", "tests": tests}],
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
            ["RATCHET-031", "RATCHET-032", "RATCHET-033", "RATCHET-036", "RATCHET-040", "X3DH-020"],
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


FILES = {
    "kdf": kdf_file,
    "x3dh": x3dh_file,
    "bundle": bundle_file,
    "wire": wire_file,
    "versioning": versioning_file,
    "session": lambda: scenario_file(
        "session", "PARLEY-SESSION", "Scripted Double Ratchet sessions.", session_scenarios()
    ),
    "no_bundle": lambda: scenario_file(
        "no_bundle",
        "PARLEY-NO-BUNDLE",
        "Messages sent without the recipient's bundle.",
        no_bundle_scenarios(),
    ),
    "fanout": lambda: scenario_file(
        "fanout", "PARLEY-FANOUT", "Multi-installation fan-out.", fanout_scenarios()
    ),
    "compromise": lambda: scenario_file(
        "compromise",
        "PARLEY-COMPROMISE",
        "Forward secrecy and post-compromise security.",
        compromise_scenarios(),
    ),
    "accumulated": accumulated_file,
}


def dump(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=True) + "\n"


def generate(out: Path) -> list[Path]:
    (out / "schemas").mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in FILES.items():
        data = make()
        path = out / f"{name}.json"
        path.write_text(dump(data))
        written.append(path)
        schema = out / "schemas" / f"{name}.schema.json"
        schema.write_text(dump(SCHEMAS[name]))
        written.append(schema)
    return written


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if not a.startswith("--")]
    out = Path(args[0]) if args else default_vector_dir()
    if not check:
        for path in generate(out):
            print(f"wrote {path}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        drift = []
        for path in fresh:
            rel = path.relative_to(tmp)
            if not (out / rel).exists() or not filecmp.cmp(path, out / rel, shallow=False):
                drift.append(str(rel))
        known = {str(p.relative_to(tmp)) for p in fresh}
        drift += [
            str(p.relative_to(out))
            for p in sorted(out.rglob("*.json"))
            if str(p.relative_to(out)) not in known
        ]
    if drift:
        print("test vectors drifted from their generator; run `make vectors`:", *drift, sep="\n  ")
        return 1
    print(f"test vectors are fresh ({len(fresh)} files regenerated byte for byte)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
