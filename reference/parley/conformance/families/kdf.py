"""The KDF family: known answers of every key derivation of profile 1."""

from __future__ import annotations

from ... import primitives as P
from ..runner import CHECKS
from .common import (
    Keys,
    _case,
    _driver,
    _file,
    h,
)

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
