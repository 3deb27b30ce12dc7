"""The bundle family: signed bundles, valid and broken."""

from __future__ import annotations

from ... import primitives as P
from ...bundle import Bundle, InstallationPreKeys, signed_bundle_bytes
from ...keys import IdentityKey, IdentityKeyPair
from ...v1 import wire_pb2 as wire
from . import edwards as E
from .common import (
    DAY,
    NOW,
    Keys,
    _case,
    _file,
    _record,
    h,
)

# == bundles =====================================================================

BUNDLE_NOTES = {
    "CheckOrder": {
        "bugType": "FUNCTIONALITY",
        "description": "Two faults in one bundle: the order of BUNDLE-011 says which one gives "
        "the code.",
    },
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
    "Ed25519Strict": {
        "bugType": "SIGNATURE_MALLEABILITY",
        "description": "Ed25519 edge cases (PROFILE-013): small-order or non-canonical keys and "
        "R, non-canonical S. Crafted so that the cofactorless equation holds: a verifier that "
        "only checks the equation (pyca/cryptography alone) accepts them; libsodium refuses.",
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
        # CONF-003's order: the identity, then each installation's id and prekeys
        signing, dh = k.key(), k.key()
        installations = []
        for _ in range(n_inst):
            installations.append(
                {
                    "installationId": k.raw(16).hex(),
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
            signingPrivateKey=signing,
            dhPrivateKey=dh,
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
    # CONF-003's order: Alice's identity and installations, then Mallory's identity
    alice = _identity(k)
    entries = sorted([_entry(k), _entry(k, 0, (1, 2))], key=lambda e: e.installation_id)
    mallory = _identity(k)
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
        ["WIRE-001", "KEYS-005"],
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
        ["BUNDLE-010", "WIRE-003"],
        tail + pb.SerializeToString(deterministic=True),
        NOW,
        acceptable=True,
    )
    _strictness_cases(case, alice)
    pb = _bundle_pb(good)
    pb.identity.binding_signature = pb.identity.binding_signature[:63]
    case(
        "bundle/verify/short-binding-signature",
        "a 63-byte identity binding signature",
        ["Malformed"],
        ["WIRE-001", "KEYS-003"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "MALFORMED_MESSAGE",
    )
    pb = _bundle_pb(good)
    s = int.from_bytes(pb.signature[32:], "little") + E.L
    pb.signature = pb.signature[:32] + s.to_bytes(32, "little")
    case(
        "bundle/verify/non-canonical-s",
        "the bundle signature with S + L in place of S (the same point equation)",
        ["Ed25519Strict"],
        ["PROFILE-013", "BUNDLE-011"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "BUNDLE_SIGNATURE_INVALID",
    )
    # two faults in one bundle: the order of BUNDLE-011 decides the code
    order = ["BUNDLE-011"]
    case(
        "bundle/verify/order/profile-before-binding",
        "profile 2 and a DH key the binding does not sign: the profile first",
        ["CheckOrder"],
        [*order, "PROFILE-002"],
        _sign(alice, entries, NOW, profile_id=2, identity_public=unbound).to_bytes(),
        NOW,
        "UNSUPPORTED_PROFILE",
    )
    bad_both = _bundle_pb(_sign(alice, entries, NOW, identity_public=unbound))
    bad_both.timestamp = NOW - 1
    case(
        "bundle/verify/order/binding-before-signature",
        "a broken binding and a bundle signature over other bytes: the binding first",
        ["CheckOrder"],
        order,
        bad_both.SerializeToString(deterministic=True),
        NOW,
        "INVALID_IDENTITY_BINDING",
    )
    stale_bad = _bundle_pb(_sign(alice, entries, NOW - 31 * DAY))
    stale_bad.timestamp = NOW - 32 * DAY
    case(
        "bundle/verify/order/signature-before-age",
        "a stale bundle whose signature does not verify: the signature first",
        ["CheckOrder"],
        [*order, "BUNDLE-020"],
        stale_bad.SerializeToString(deterministic=True),
        NOW,
        "BUNDLE_SIGNATURE_INVALID",
    )
    pb = _bundle_pb(_sign(alice, entries, NOW, profile_id=2))
    pb.installations[0].CopyFrom(_bundle_pb(good).installations[1])
    pb.installations[1].CopyFrom(_bundle_pb(good).installations[0])
    case(
        "bundle/verify/order/structure-before-profile",
        "profile 2 and entries out of order: the profile-independent rules first",
        ["CheckOrder"],
        [*order, "BUNDLE-004"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "MALFORMED_MESSAGE",
    )
    pb = _bundle_pb(good)
    pb.identity.signing_key = pb.identity.signing_key[:31]
    pb.signature = pb.signature[:63]
    case(
        "bundle/verify/order/identity-before-signature-length",
        "a 31-byte signing key and a 63-byte bundle signature: the identity first",
        ["CheckOrder"],
        [*order, "WIRE-001"],
        pb.SerializeToString(deterministic=True),
        NOW,
        "INVALID_KEY",
    )
    many_unbound = _sign(alice, [_entry(k, 101)], NOW, identity_public=unbound)
    case(
        "bundle/verify/order/counts-before-binding",
        "101 one-time prekeys and a broken binding: the profile's counts first",
        ["CheckOrder"],
        [*order, "BUNDLE-004"],
        many_unbound.to_bytes(),
        NOW,
        "MALFORMED_MESSAGE",
    )
    case(
        "bundle/verify/order/profile-before-counts",
        "profile 2 and 101 one-time prekeys: the profile first",
        ["CheckOrder"],
        order,
        _sign(alice, [_entry(k, 101)], NOW, profile_id=2).to_bytes(),
        NOW,
        "UNSUPPORTED_PROFILE",
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


# -- Ed25519 strictness (PROFILE-013) -----------------------------------------------


def _craft(
    k: Keys, a: int, torsion: E.Point, message: bytes, key: bytes, small_r: bool
) -> bytes | None:
    """A signature that the cofactorless equation [S]B = R + [h]A accepts.

    The key is ``A = [a]B + torsion`` (given as ``key``, possibly a
    non-canonical encoding). ``R = [r]B + T`` where ``T`` is a small-order
    point chosen so that ``T + [h]torsion`` is the neutral point; with
    ``small_r`` r is 0, so R itself is of small order.
    """
    for _ in range(64):
        r = 0 if small_r else int.from_bytes(k.raw(), "little") % E.L
        for i in range(8) if small_r or torsion != E.NEUTRAL else (0,):
            t_r = E.mul(i, E.TORSION_8)
            r_point = E.add(E.mul(r, E.BASE), t_r)
            r_bytes = E.encode(r_point)
            c = E.challenge(r_bytes, key, message)
            if E.add(t_r, E.mul(c, torsion)) == E.NEUTRAL:
                s = (r + c * a) % E.L
                return r_bytes + s.to_bytes(32, "little")
        if small_r:
            return None
    raise AssertionError("no signature found")


def _lax_verify(key: bytes, message: bytes, signature: bytes) -> None:
    """pyca/cryptography alone: the crafted signatures must pass it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(key).verify(signature, message)


def _crafted_bundle(
    tc: str, a: int, torsion: E.Point, key: bytes, small_r_bundle: bool = False
) -> bytes:
    """A bundle whose identity signing key is ``key`` = [a]B + torsion, with a
    binding signature and a bundle signature that pass pyca's verification."""
    k = Keys(tc)
    dh = P.DHKeyPair.from_private_bytes(k.raw()).public
    binding_message = IdentityKey.binding_message(dh)
    binding = _craft(k, a, torsion, binding_message, key, small_r=False)
    _lax_verify(key, binding_message, binding)
    identity = IdentityKey(key, dh, binding)
    entries = (_entry(k, 0),)
    for timestamp in range(NOW, NOW - 64, -1):
        message = signed_bundle_bytes(1, identity, entries, timestamp)
        signature = _craft(k, a, torsion, message, key, small_r=small_r_bundle)
        if signature is not None:
            break
    else:
        raise AssertionError("no small-order R found")
    _lax_verify(key, message, signature)
    return Bundle(1, identity, entries, timestamp, signature).to_bytes()


def _strictness_cases(case, alice: IdentityKeyPair) -> None:
    """Bundles that pyca alone accepts and a strict verifier (libsodium) refuses."""
    R = ["PROFILE-013", "KEYS-003"]
    neutral = E.encode(E.NEUTRAL)
    case(
        "bundle/verify/neutral-identity-key",
        "identity signing key = the neutral point (01 00..00), every signature R = neutral, "
        "S = 0: it verifies for every message under a lax verifier, yet nobody holds the key",
        ["Ed25519Strict"],
        R,
        _crafted_bundle("bundle/verify/neutral-identity-key", 0, E.NEUTRAL, neutral),
        NOW,
        "INVALID_IDENTITY_BINDING",
    )
    case(
        "bundle/verify/small-order-identity-key",
        "identity signing key = a point of order 8, signatures with small-order R and S = 0",
        ["Ed25519Strict"],
        R,
        _crafted_bundle(
            "bundle/verify/small-order-identity-key", 0, E.TORSION_8, E.encode(E.TORSION_8)
        ),
        NOW,
        "INVALID_IDENTITY_BINDING",
    )
    case(
        "bundle/verify/non-canonical-identity-key",
        "identity signing key = ee ff..ff 7f, the non-canonical encoding y = p + 1 of the "
        "neutral point; signatures R = neutral, S = 0",
        ["Ed25519Strict"],
        R,
        _crafted_bundle(
            "bundle/verify/non-canonical-identity-key",
            0,
            E.NEUTRAL,
            bytes.fromhex("ee" + "ff" * 30 + "7f"),
        ),
        NOW,
        "INVALID_IDENTITY_BINDING",
    )
    case(
        "bundle/verify/neutral-key-sign-bit",
        "identity signing key = 01 00..00 80, the neutral point written with x's sign bit "
        "set (x = 0 has no negative: non-canonical); signatures R = neutral, S = 0",
        ["Ed25519Strict"],
        R,
        _crafted_bundle(
            "bundle/verify/neutral-key-sign-bit", 0, E.NEUTRAL, b"\x01" + bytes(30) + b"\x80"
        ),
        NOW,
        "INVALID_IDENTITY_BINDING",
    )
    tc = "bundle/verify/mixed-order-identity-key"
    a = int.from_bytes(Keys(tc + "/scalar").raw(), "little") % E.L
    mixed = E.encode(E.add(E.mul(a, E.BASE), E.TORSION_8))
    case(
        tc,
        "identity signing key = [a]B + a point of order 8 (not itself of small order), "
        "signatures whose challenge is a multiple of 8: valid for libsodium and pyca alike",
        ["Ed25519Strict", "Valid"],
        ["PROFILE-013", "BUNDLE-011"],
        _crafted_bundle(tc, a, E.TORSION_8, mixed),
        NOW,
    )
    tc = "bundle/verify/small-order-r"
    a = int.from_bytes(Keys(tc + "/scalar").raw(), "little") % E.L
    mixed = E.encode(E.add(E.mul(a, E.BASE), E.TORSION_8))
    case(
        tc,
        "the key of the case above; the bundle signature's R is a point of small order, "
        "S = [h]a: the cofactorless equation holds, libsodium refuses the small-order R",
        ["Ed25519Strict"],
        ["PROFILE-013", "BUNDLE-011"],
        _crafted_bundle(tc, a, E.TORSION_8, mixed, small_r_bundle=True),
        NOW,
        "BUNDLE_SIGNATURE_INVALID",
    )
