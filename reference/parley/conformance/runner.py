"""Run test vectors against a driver and report each case.

The checks here are the normative reading of the vectors: for each group
type, which driver operations a case needs and what counts as a pass.

* ``valid``: the operation succeeds and every output equals the vector's.
* ``invalid``: the operation is refused with exactly the vector's ``error``.
* ``acceptable``: either is a pass (the flags say why both are allowed); if
  the operation succeeds, its outputs must still equal the vector's.

With ``record=True`` the same checks *write* outputs and results into the
case instead of comparing them; the generator uses that on the reference.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..driver.v1 import driver_pb2 as d
from .accumulated import first_divergence, run_accumulated
from .drivers import DriverFailure, Refused, Unsupported
from .policy import capabilities_permit, operation_optional
from .scenario import Mismatch, Scenario, from_hex, mismatch, policy_pb, to_hex

__all__ = ["CaseResult", "default_vector_dir", "load_vectors", "run_case", "run_suite"]

KDF_FUNCTIONS = {
    "KDF_RK": d.KDF_FUNCTION_ROOT,
    "KDF_CK": d.KDF_FUNCTION_CHAIN,
    "MESSAGE_KEYS": d.KDF_FUNCTION_MESSAGE_KEYS,
    "X3DH_KDF": d.KDF_FUNCTION_X3DH,
    "NO_BUNDLE_KDF": d.KDF_FUNCTION_NO_BUNDLE,
}


def default_vector_dir() -> Path:
    """``test-vectors/`` of the source tree this package lives in."""
    return Path(__file__).resolve().parents[3] / "test-vectors"


def load_vectors(directory: Path) -> list[tuple[str, dict]]:
    """Every vector file of ``directory`` (sorted), as (file name, parsed JSON)."""
    return [(p.name, json.loads(p.read_text())) for p in sorted(directory.glob("*.json"))]


class _Check:
    """Compare (or record) one flat case's outcome."""

    def __init__(self, test: dict, record: bool) -> None:
        self.test = test
        self.record = record

    def call(self, driver, method: str, request):
        test = self.test
        try:
            response = driver.call(method, request)
        except Refused as exc:
            if self.record:
                test["result"] = "invalid"
                test["error"] = exc.code
                return None
            if test["result"] == "invalid":
                if exc.code != test["error"]:
                    raise Mismatch(
                        f"refused with {exc.code}, the vector says {test['error']}"
                    ) from None
                return None
            if test["result"] == "acceptable":
                return None
            raise Mismatch(f"refused with {exc.code}: {exc}") from None
        if self.record:
            test.setdefault("result", "valid")
        elif test["result"] == "invalid":
            raise Mismatch(f"accepted, the vector says {test['error']}")
        return response

    def expect(self, key: str, actual, where: dict | None = None) -> None:
        where = self.test if where is None else where
        if isinstance(actual, bytes | bytearray):
            actual = to_hex(actual)
        elif isinstance(actual, list | tuple):
            actual = [to_hex(a) if isinstance(a, bytes | bytearray) else a for a in actual]
        if self.record:
            where[key] = actual
        elif where.get(key) != actual:
            raise mismatch("", key, actual, where.get(key))


# -- one function per group type ----------------------------------------------


def check_kdf(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    request = d.KdfRequest(
        profile=group["profile"],
        function=KDF_FUNCTIONS[group["function"]],
        key=from_hex(test.get("key", "")),
        input=from_hex(test.get("input", "")),
    )
    response = c.call(drivers["a"], "Kdf", request)
    if response is not None:
        c.expect("outputs", list(response.outputs))


def check_x3dh(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    role = d.X3DH_ROLE_INITIATOR if test["role"] == "initiator" else d.X3DH_ROLE_RESPONDER
    h = lambda key: from_hex(test.get(key, ""))  # noqa: E731
    request = d.X3dhAgreementRequest(
        profile=group["profile"],
        role=role,
        identity=d.IdentityPrivateKeys(
            signing_private_key=h("signingPrivateKey"), dh_private_key=h("dhPrivateKey")
        ),
        installation_id=h("installationId"),
        ephemeral_private_key=h("ephemeralPrivateKey"),
        signed_prekey_private_key=h("signedPreKeyPrivateKey"),
        one_time_prekey_private_key=h("oneTimePreKeyPrivateKey"),
        peer_identity=h("peerIdentity"),
        peer_installation_id=h("peerInstallationId"),
        peer_signed_prekey=h("peerSignedPreKey"),
        peer_one_time_prekey=h("peerOneTimePreKey"),
        peer_ephemeral_key=h("peerEphemeralKey"),
    )
    response = c.call(drivers["a"], "X3dhAgreement", request)
    if response is not None:
        c.expect("dhOutputs", list(response.dh_outputs))
        c.expect("sharedKey", response.shared_key)
        c.expect("associatedData", response.associated_data)


def check_negotiate(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    request = d.NegotiateRequest(policy=policy_pb(test["policy"]), peer_reads=test["peerReads"])
    response = c.call(drivers["a"], "Negotiate", request)
    if response is not None:
        c.expect("version", response.version)


def check_bundle_create(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    driver = drivers["a"]
    handles = []
    for installation in test["installations"]:
        party = {
            "signingPrivateKey": test["signingPrivateKey"],
            "dhPrivateKey": test["dhPrivateKey"],
            **installation,
        }
        from .scenario import installation_request

        response = driver.call("CreateInstallation", installation_request(party, group["profile"]))
        handles.append(response.installation_handle)
    request = d.CreateBundleRequest(installation_handles=handles, now=test["now"])
    if "oneTimePreKeyLimit" in test:
        request.one_time_prekey_limit = test["oneTimePreKeyLimit"]
    response = c.call(driver, "CreateBundle", request)
    if response is not None:
        c.expect("bundle", response.bundle)


def _bundle_fields(response: d.VerifyBundleResponse) -> dict:
    return {
        "profile": response.profile,
        "identity": to_hex(response.identity),
        "timestamp": response.timestamp,
        "entries": [
            {
                "installationId": to_hex(e.installation_id),
                "signedPreKeyId": e.signed_prekey_id,
                "signedPreKey": to_hex(e.signed_prekey),
                "protocolVersions": list(e.protocol_versions),
                "oneTimePreKeys": [
                    {"id": o.id, "publicKey": to_hex(o.public_key)} for o in e.one_time_prekeys
                ],
            }
            for e in response.entries
        ],
        "signedBytes": to_hex(response.signed_bytes),
    }


def check_bundle_verify(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    request = d.VerifyBundleRequest(
        bundle=from_hex(test["bundle"]), now=test["now"], profile=group["profile"]
    )
    response = c.call(drivers["a"], "VerifyBundle", request)
    if response is not None:
        c.expect("decoded", _bundle_fields(response))


def _message_bytes(test: dict) -> bytes:
    data = from_hex(test["message"])
    if "paddedLength" in test:
        data += bytes(test["paddedLength"] - len(data))
    return data


def check_ratchet_decode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    request = d.DecodeRatchetMessageRequest(
        message=_message_bytes(test), policy=policy_pb(test.get("policy"))
    )
    response = c.call(drivers["a"], "DecodeRatchetMessage", request)
    if response is None:
        return
    decoded = {
        "version": response.version,
        "ratchetKey": to_hex(response.ratchet_key),
        "previousChainLength": response.previous_chain_length,
        "messageNumber": response.message_number,
        "ciphertext": to_hex(response.ciphertext),
        "mac": to_hex(response.mac),
    }
    if response.has_x3dh_header:
        decoded["x3dh"] = {
            "initiatorIdentity": to_hex(response.initiator_identity),
            "ephemeralKey": to_hex(response.ephemeral_key),
            "signedPreKeyId": response.signed_prekey_id,
        }
        if response.HasField("one_time_prekey_id"):
            decoded["x3dh"]["oneTimePreKeyId"] = response.one_time_prekey_id
    c.expect("decoded", decoded)


def check_no_bundle_decode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    request = d.DecodeNoBundleMessageRequest(
        message=_message_bytes(test), policy=policy_pb(test.get("policy"))
    )
    response = c.call(drivers["a"], "DecodeNoBundleMessage", request)
    if response is not None:
        c.expect(
            "decoded",
            {
                "version": response.version,
                "senderIdentity": to_hex(response.sender_identity),
                "ephemeralKey": to_hex(response.ephemeral_key),
                "recipientDhKey": to_hex(response.recipient_dh_key),
                "ciphertext": to_hex(response.ciphertext),
                "mac": to_hex(response.mac),
            },
        )


_KINDS = {"ratchet": d.MESSAGE_KIND_RATCHET, "no_bundle": d.MESSAGE_KIND_NO_BUNDLE}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}


def check_envelope_decode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    request = d.DecodeEnvelopeRequest(envelope=_message_bytes({"message": test["envelope"]}))
    if "policy" in test:
        request.policy.CopyFrom(policy_pb(test["policy"]))
    response = c.call(drivers["a"], "DecodeEnvelope", request)
    if response is not None:
        c.expect(
            "decoded",
            {
                "version": response.version,
                "senderInstallationId": to_hex(response.sender_installation_id),
                "copies": [
                    {
                        "recipientInstallationId": to_hex(x.recipient_installation_id),
                        "kind": _KIND_NAMES.get(x.kind, "unknown"),
                        "body": to_hex(x.body),
                    }
                    for x in response.copies
                ],
                "senderBundle": to_hex(response.sender_bundle),
            },
        )


def check_envelope_encode(group: dict, test: dict, drivers: dict, record: bool) -> None:
    c = _Check(test, record)
    request = d.EncodeEnvelopeRequest(
        version=test["version"],
        sender_installation_id=from_hex(test["senderInstallationId"]),
        copies=[
            d.EnvelopeCopy(
                recipient_installation_id=from_hex(x["recipientInstallationId"]),
                kind=_KINDS[x["kind"]],
                body=from_hex(x["body"]),
            )
            for x in test["copies"]
        ],
        sender_bundle=from_hex(test.get("senderBundle", "")),
    )
    response = c.call(drivers["a"], "EncodeEnvelope", request)
    if response is not None:
        c.expect("envelope", response.envelope)


def check_scenario(group: dict, test: dict, drivers: dict, record: bool) -> list[str]:
    scenario = Scenario(test, drivers, record)
    scenario.run()
    return scenario.notes


def check_accumulated(group: dict, test: dict, drivers: dict, record: bool) -> None:
    trace: list = []
    digest, counts = run_accumulated(from_hex(test["seed"]), test["steps"], drivers, trace)
    if record:
        test["sha256"] = digest
        test["counts"] = counts
        return
    if counts != test["counts"] or digest != test["sha256"]:
        summary = (
            f"outcome counts {counts} differ from the vector's {test['counts']}"
            if counts != test["counts"]
            else f"SHA-256 of all outputs is {digest}, the vector says {test['sha256']}"
        )
        where = first_divergence(from_hex(test["seed"]), test["steps"], trace)
        if where is None:  # the reference no longer gives the vector's hash either
            raise Mismatch(summary + "; the reference's run has the same records")
        raise Mismatch(f"{summary}; first divergence: {where}", where.difference)


CHECKS = {
    "KdfTest": check_kdf,
    "X3dhTest": check_x3dh,
    "NegotiateTest": check_negotiate,
    "BundleCreateTest": check_bundle_create,
    "BundleVerifyTest": check_bundle_verify,
    "RatchetMessageDecodeTest": check_ratchet_decode,
    "NoBundleMessageDecodeTest": check_no_bundle_decode,
    "EnvelopeDecodeTest": check_envelope_decode,
    "EnvelopeEncodeTest": check_envelope_encode,
    "ScenarioTest": check_scenario,
    "AccumulatedTest": check_accumulated,
}

# The library-layer families (contact codes, payloads, multi-device decisions).
from .library_checks import LIBRARY_CHECKS  # noqa: E402

CHECKS.update(LIBRARY_CHECKS)

#: Group types that involve two parties and can run across two drivers.
PAIRWISE_TYPES = {"ScenarioTest", "AccumulatedTest"}


# -- results --------------------------------------------------------------------


@dataclass
class CaseResult:
    tc_id: str
    file: str
    status: str  # "pass", "fail", "skip"
    requirements: list[str]
    message: str = ""
    seconds: float = 0.0
    known: bool = False  # a failure listed in the known-failures file
    notes: list[str] = field(default_factory=list)
    #: a skip the spec permits (CONF-004); False: a required case skipped under --allow-skip
    permitted: bool = True
    #: the first differing field of a mismatch (diff.Difference.as_json())
    difference: dict | None = None

    def as_json(self) -> dict:
        out = {
            "tcId": self.tc_id,
            "file": self.file,
            "status": self.status,
            "requirements": self.requirements,
            "seconds": round(self.seconds, 4),
        }
        if self.message:
            out["message"] = self.message
        if self.known:
            out["knownFailure"] = True
        if self.notes:
            out["notes"] = self.notes
        if self.status == "skip":
            out["skipPermitted"] = self.permitted
        if self.difference is not None:
            out["difference"] = self.difference
        return out


def _needs(group: dict, test: dict) -> tuple[set[int], set[int]]:
    """The profiles and protocol versions a case needs (Negotiate is pure: none)."""
    profiles = {group["profile"]} if "profile" in group else {1}
    versions: set[int] = set()
    if group["type"] == "NegotiateTest":
        return profiles, versions
    policies = [test.get("policy")] + [p.get("policy") for p in test.get("parties", {}).values()]
    for policy in policies:
        if policy:
            versions |= set(policy["reads"]) | {policy["writes"]}
    for step in test.get("steps", ()) if isinstance(test.get("steps"), list) else ():
        if "version" in step:
            versions.add(step["version"])
    return profiles, versions


def _skip(permitted: bool, allow_skip: bool, message: str) -> tuple[str, str, bool]:
    """(status, message, permitted) of a case that could not run (CONF-004, CONF-010)."""
    if permitted:
        return "skip", message, True
    if allow_skip:
        return "skip", message + " (skipped: --allow-skip)", False
    return "fail", message, False


def run_case(
    file: str,
    group: dict,
    test: dict,
    drivers: dict,
    tc_id: str | None = None,
    capabilities: tuple[set[int], set[int]] | None = None,
    allow_skip: bool = False,
):
    """Run one case; never raises for a failure of the implementation.

    ``capabilities`` (profiles, protocol versions) of the drivers, if given,
    stops a case that needs more. A case that cannot run, for that reason or
    because the driver answers UNIMPLEMENTED, is a skip only if the spec
    permits it (:mod:`.policy`); otherwise it fails, or with ``allow_skip``
    is a skip that is not permitted (the verdict is then NOT CONFORMANT).
    """
    check = CHECKS[group["type"]]
    start = time.perf_counter()
    status, message, notes, permitted, difference = "pass", "", [], True, None
    profile = group.get("profile", 1)
    requirements = list(test.get("requirements", []))
    if capabilities is not None:
        profiles, versions = _needs(group, test)
        missing_profiles, missing_versions = profiles - capabilities[0], versions - capabilities[1]
        if missing_profiles or missing_versions:
            ok = capabilities_permit(missing_profiles, missing_versions)
            what = [f"profile {p}" for p in sorted(missing_profiles)]
            what += [f"protocol version {v}" for v in sorted(missing_versions)]
            rule = "CONF-004 permits the skip" if ok else "CONF-010: a conforming driver has it"
            text = f"needs {', '.join(what)}, which the driver does not declare ({rule})"
            status, message, permitted = _skip(ok, allow_skip, text)
            return CaseResult(
                tc_id or test["tcId"], file, status, requirements, message, permitted=permitted
            )
    try:
        notes = check(group, test, drivers, False) or []
    except Mismatch as exc:
        status, message = "fail", str(exc)
        if exc.difference is not None:
            difference = exc.difference.as_json()
    except Unsupported as exc:
        operation = str(exc)
        ok = operation_optional(operation, profile)
        rule = (
            f"optional for profile {profile}, CONF-004"
            if ok
            else f"required for profile {profile}, CONF-010"
        )
        status, message, permitted = _skip(
            ok, allow_skip, f"the driver does not implement {operation} ({rule})"
        )
    except (DriverFailure, Refused) as exc:
        status, message = "fail", f"{type(exc).__name__}: {exc}"
    except (KeyError, ValueError, TypeError, AttributeError) as exc:  # a malformed vector
        status, message = "fail", f"runner error: {type(exc).__name__}: {exc}"
    return CaseResult(
        tc_id or test["tcId"],
        file,
        status,
        requirements,
        message,
        time.perf_counter() - start,
        notes=notes,
        permitted=permitted,
        difference=difference,
    )


def run_suite(
    vectors: list[tuple[str, dict]],
    drivers: dict,
    *,
    select: str | list[str] | None = None,
    pairwise: bool = False,
    on_result=None,
    capabilities: tuple[set[int], set[int]] | None = None,
    allow_skip: bool = False,
) -> list[CaseResult]:
    """Run every case (or those whose tcId contains one of ``select``).

    With ``pairwise`` only the two-party groups run, once with side "a" on
    drivers["a"] and side "b" on drivers["b"], and once swapped.
    ``allow_skip``: see :func:`run_case`.
    """
    if isinstance(select, str):
        select = [select]
    results = []
    for file, data in vectors:
        for group in data["testGroups"]:
            if pairwise and group["type"] not in PAIRWISE_TYPES:
                continue
            for test in group["tests"]:
                if select and not any(s in test["tcId"] for s in select):
                    continue
                if pairwise:
                    runs = [
                        (f"{test['tcId']}@a>b", drivers),
                        (f"{test['tcId']}@b>a", {"a": drivers["b"], "b": drivers["a"]}),
                    ]
                else:
                    runs = [(test["tcId"], drivers)]
                for tc_id, pair in runs:
                    result = run_case(file, group, test, pair, tc_id, capabilities, allow_skip)
                    results.append(result)
                    if on_result is not None:
                        on_result(result)
    return results
