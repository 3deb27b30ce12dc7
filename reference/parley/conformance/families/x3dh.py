"""The X3DH family: known answers of the key agreement, and low-order points."""

from __future__ import annotations

from ... import primitives as P
from ...keys import IdentityKeyPair
from ..runner import CHECKS
from .common import (
    LOW_ORDER,
    LOW_ORDER_1,
    Keys,
    _case,
    _driver,
    _file,
    _record,
    h,
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
        # CONF-003's order, party by party: identity, installation id, prekeys;
        # then the session's EK_A
        alice = IdentityKeyPair.from_private_bytes(k.raw(), k.raw())
        a_id = k.raw(16)
        bob = IdentityKeyPair.from_private_bytes(k.raw(), k.raw())
        b_id = k.raw(16)
        spk, opk = k.raw(), k.raw()
        ek = k.raw()
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
