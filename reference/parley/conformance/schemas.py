"""The JSON Schemas (draft 2020-12) of the vector files, built here and written
by the generator to ``test-vectors/schemas/``. Every object is closed
(``additionalProperties: false``). Rules a schema cannot say (unique tcIds,
``numberOfTests``, flags named in ``notes``, requirement IDs that exist, error
codes of the registry) are checked by :mod:`parley.conformance.lint`.
"""

from __future__ import annotations

from ..errors import ERROR_CODES

__all__ = ["LIBRARY_CODES", "SCHEMAS"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

HEX = {"type": "string", "pattern": "^([0-9a-f]{2})*$"}
KEY = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
IID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
IDENTITY = {"type": "string", "pattern": "^[0-9a-f]{256}$"}
U32 = {"type": "integer", "minimum": 0, "maximum": 4294967295}
U64 = {"type": "integer", "minimum": 0}
NAME = {"type": "string", "minLength": 1}
HEXES = {"type": "array", "items": HEX}
#: Library codes (spec/errors.md, "Library codes") that vectors expect.
LIBRARY_CODES: frozenset[str] = frozenset({"INVALID_CONTACT_CODE"})
ERROR = {"enum": sorted(set(ERROR_CODES) | LIBRARY_CODES)}
POLICY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reads", "writes"],
    "properties": {"reads": {"type": "array", "items": U32}, "writes": U32},
}

BASE = {
    "tcId": {"type": "string", "pattern": "^[a-z0-9][a-z0-9./_@-]*$"},
    "comment": {"type": "string"},
    "flags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    "requirements": {
        "type": "array",
        "items": {"type": "string", "pattern": "^[A-Z][A-Z0-9]*-[0-9]{3}$"},
        "minItems": 1,
        "uniqueItems": True,
    },
    "result": {"enum": ["valid", "invalid", "acceptable"]},
    "error": ERROR,
}

RESULT_RULES = [
    {"if": {"properties": {"result": {"const": "invalid"}}}, "then": {"required": ["error"]}},
    {
        "if": {"properties": {"result": {"const": "valid"}}},
        "then": {"not": {"required": ["error"]}},
    },
    {
        "if": {"properties": {"result": {"const": "acceptable"}}},
        "then": {"properties": {"flags": {"minItems": 1}}},
    },
]


def obj(required: dict, optional: dict | None = None, **extra) -> dict:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }
    schema.update(extra)
    return schema


def test_schema(required: dict, optional: dict | None = None, **extra) -> dict:
    base_required = {k: BASE[k] for k in ("tcId", "comment", "flags", "requirements", "result")}
    schema = obj({**base_required, **required}, {"error": ERROR, **(optional or {})})
    schema["allOf"] = RESULT_RULES + extra.pop("allOf", [])
    schema.update(extra)
    return schema


def group(type_name: str, test: dict, params: dict | None = None) -> dict:
    return obj(
        {"type": {"const": type_name}, **(params or {}), "tests": {"type": "array", "items": test}}
    )


def file_schema(name: str, title: str, groups: list[dict]) -> dict:
    note = obj({"bugType": {"type": "string"}, "description": {"type": "string"}})
    schema = obj(
        {
            "algorithm": {"type": "string"},
            "schema": {"const": f"{name}.schema.json"},
            "generatorVersion": {"type": "string"},
            "numberOfTests": {"type": "integer", "minimum": 0},
            "header": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "object", "additionalProperties": note},
            "testGroups": {"type": "array", "items": {"oneOf": groups}},
        }
    )
    return {"$schema": DRAFT, "$id": f"{name}.schema.json", "title": title, **schema}


# -- flat families ------------------------------------------------------------------

KDF = group(
    "KdfTest",
    test_schema({"outputs": HEXES}, {"key": HEX, "input": HEX}),
    {
        "profile": U32,
        "function": {"enum": ["KDF_RK", "KDF_CK", "MESSAGE_KEYS", "X3DH_KDF", "NO_BUNDLE_KDF"]},
    },
)

X3DH = group(
    "X3dhTest",
    test_schema(
        {
            "role": {"enum": ["initiator", "responder"]},
            "signingPrivateKey": KEY,
            "dhPrivateKey": KEY,
            "installationId": IID,
            "peerIdentity": IDENTITY,
            "peerInstallationId": IID,
        },
        {
            "ephemeralPrivateKey": KEY,
            "signedPreKeyPrivateKey": KEY,
            "oneTimePreKeyPrivateKey": KEY,
            "peerSignedPreKey": HEX,
            "peerOneTimePreKey": HEX,
            "peerEphemeralKey": HEX,
            "dhOutputs": {"type": "array", "items": KEY, "minItems": 3, "maxItems": 4},
            "sharedKey": KEY,
            "associatedData": {"type": "string", "pattern": "^[0-9a-f]{320}$"},
        },
    ),
    {"profile": U32},
)

SIGNED_PREKEY = obj({"id": U32, "privateKey": KEY, "createdAt": U64}, {"supersededAt": U64})
ONE_TIME_PREKEY = obj({"id": U32, "privateKey": KEY})
INSTALLATION = {
    "installationId": IID,
    "signedPreKeys": {"type": "array", "items": SIGNED_PREKEY, "minItems": 1},
    "oneTimePreKeys": {"type": "array", "items": ONE_TIME_PREKEY},
}

BUNDLE_CREATE = group(
    "BundleCreateTest",
    test_schema(
        {
            "signingPrivateKey": KEY,
            "dhPrivateKey": KEY,
            "installations": {
                "type": "array",
                "minItems": 1,
                "items": obj(INSTALLATION, {"policy": POLICY}),
            },
            "now": U64,
        },
        {"oneTimePreKeyLimit": U32, "bundle": HEX},
    ),
    {"profile": U32},
)

BUNDLE_DECODED = obj(
    {
        "profile": U32,
        "identity": IDENTITY,
        "timestamp": U64,
        "entries": {
            "type": "array",
            "items": obj(
                {
                    "installationId": IID,
                    "signedPreKeyId": U32,
                    "signedPreKey": KEY,
                    "protocolVersions": {"type": "array", "items": U32},
                    "oneTimePreKeys": {
                        "type": "array",
                        "items": obj({"id": U32, "publicKey": KEY}),
                    },
                }
            ),
        },
        "signedBytes": HEX,
    }
)

BUNDLE_VERIFY = group(
    "BundleVerifyTest",
    test_schema({"bundle": HEX, "now": U64}, {"decoded": BUNDLE_DECODED}),
    {"profile": U32},
)

RATCHET_DECODED = obj(
    {
        "version": U32,
        "ratchetKey": KEY,
        "previousChainLength": U32,
        "messageNumber": U32,
        "ciphertext": HEX,
        "mac": HEX,
    },
    {
        "x3dh": obj(
            {"initiatorIdentity": IDENTITY, "ephemeralKey": KEY, "signedPreKeyId": U32},
            {"oneTimePreKeyId": U32},
        )
    },
)
PADDED = {"paddedLength": {"type": "integer", "minimum": 1}}

RATCHET_DECODE = group(
    "RatchetMessageDecodeTest",
    test_schema({"message": HEX}, {"policy": POLICY, **PADDED, "decoded": RATCHET_DECODED}),
)
NO_BUNDLE_DECODE = group(
    "NoBundleMessageDecodeTest",
    test_schema(
        {"message": HEX},
        {
            "policy": POLICY,
            **PADDED,
            "decoded": obj(
                {
                    "version": U32,
                    "senderIdentity": IDENTITY,
                    "ephemeralKey": KEY,
                    "recipientDhKey": KEY,
                    "ciphertext": HEX,
                    "mac": HEX,
                }
            ),
        },
    ),
)
COPY = obj(
    {
        "recipientInstallationId": {"type": "string", "pattern": "^([0-9a-f]{32})?$"},
        "kind": {"enum": ["ratchet", "no_bundle", "unknown"]},
        "body": HEX,
    }
)
ENVELOPE_ENCODE = group(
    "EnvelopeEncodeTest",
    test_schema(
        {
            "version": U32,
            "senderInstallationId": IID,
            "copies": {"type": "array", "items": COPY},
        },
        {"senderBundle": HEX, "envelope": HEX},
    ),
)
ENVELOPE_DECODE = group(
    "EnvelopeDecodeTest",
    test_schema(
        {"envelope": HEX},
        {
            "policy": POLICY,
            "decoded": obj(
                {
                    "version": U32,
                    "senderInstallationId": HEX,
                    "copies": {"type": "array", "items": COPY},
                    "senderBundle": HEX,
                }
            ),
        },
    ),
)

NEGOTIATE = group(
    "NegotiateTest",
    test_schema({"policy": POLICY, "peerReads": {"type": "array", "items": U32}}, {"version": U32}),
)

# -- scenarios ------------------------------------------------------------------------

PARTY = obj(
    {
        "side": {"enum": ["a", "b"]},
        "signingPrivateKey": KEY,
        "dhPrivateKey": KEY,
        **INSTALLATION,
    },
    {"policy": POLICY, "identity": IDENTITY},
)
INPUT = {"input": NAME, "inputHex": HEX}
ONE_INPUT = {"oneOf": [{"required": ["input"]}, {"required": ["inputHex"]}]}


def step(op: str, required: dict, optional: dict | None = None, **extra) -> dict:
    return obj({"op": {"const": op}, **required}, {"error": ERROR, **(optional or {})}, **extra)


STEPS = [
    step(
        "bundle",
        {"parties": {"type": "array", "items": NAME, "minItems": 1}, "now": U64, "name": NAME},
        {"oneTimePreKeyLimit": U32, "bundle": HEX},
    ),
    step(
        "initiate",
        {
            "party": NAME,
            "session": NAME,
            "remoteInstallationId": IID,
            "now": U64,
            "ephemeralPrivateKey": KEY,
            "ratchetPrivateKey": KEY,
        },
        {**INPUT, "oneTimePreKeyId": U32},
        **ONE_INPUT,
    ),
    step(
        "respond",
        {"party": NAME, "session": NAME, "remoteInstallationId": IID, "ratchetPrivateKey": KEY},
        {**INPUT, "installationUnchanged": {"type": "boolean"}, "plaintext": HEX},
        **ONE_INPUT,
    ),
    step(
        "encrypt",
        {"session": NAME, "plaintext": HEX, "name": NAME},
        {"count": {"type": "integer", "minimum": 1}, "message": HEX},
    ),
    step(
        "decrypt",
        {"session": NAME, "ratchetPrivateKey": KEY},
        {**INPUT, "stateUnchanged": {"type": "boolean"}, "plaintext": HEX},
        **ONE_INPUT,
    ),
    step("exportSession", {"session": NAME, "name": NAME}, {"state": HEX}),
    step("importSession", {"party": NAME, "session": NAME}, INPUT, **ONE_INPUT),
    step(
        "attack",
        {
            "party": NAME,
            "state": NAME,
            "input": NAME,
            "ratchetPrivateKey": KEY,
            "derivable": {"type": "boolean"},
        },
        {"plaintext": HEX, "referenceError": ERROR},
    ),
    step(
        "sealNoBundle",
        {
            "party": NAME,
            "plaintext": HEX,
            "ephemeralPrivateKey": KEY,
            "version": U32,
            "name": NAME,
        },
        {"recipient": NAME, "recipientIdentityHex": IDENTITY, "message": HEX},
        oneOf=[{"required": ["recipient"]}, {"required": ["recipientIdentityHex"]}],
    ),
    step(
        "openNoBundle",
        {"party": NAME, "senderInstallationId": IID},
        {
            **INPUT,
            "plaintext": HEX,
            "senderIdentity": IDENTITY,
            "forwardSecret": {"type": "boolean"},
        },
        **ONE_INPUT,
    ),
    step(
        "encodeEnvelope",
        {
            "party": NAME,
            "version": U32,
            "senderInstallationId": IID,
            "copies": {
                "type": "array",
                "items": obj(
                    {
                        "recipientInstallationId": COPY["properties"]["recipientInstallationId"],
                        "kind": {"enum": ["ratchet", "no_bundle"]},
                    },
                    {"body": NAME, "bodyHex": HEX},
                    oneOf=[{"required": ["body"]}, {"required": ["bodyHex"]}],
                ),
            },
            "name": NAME,
        },
        {"senderBundle": NAME, "envelope": HEX},
    ),
    step(
        "decodeEnvelope",
        {"party": NAME, "copyNames": {"type": "array", "items": NAME}},
        {
            **INPUT,
            "version": U32,
            "senderInstallationId": HEX,
            "senderBundle": HEX,
            "copies": {"type": "array", "items": COPY},
        },
        **ONE_INPUT,
    ),
]

SCENARIO = group(
    "ScenarioTest",
    test_schema(
        {
            "parties": {"type": "object", "minProperties": 1, "additionalProperties": PARTY},
            "steps": {"type": "array", "minItems": 1, "items": {"oneOf": STEPS}},
        }
    ),
)

ACCUMULATED = group(
    "AccumulatedTest",
    test_schema(
        {
            "seed": HEX,
            "steps": {"type": "integer", "minimum": 1},
            "sha256": KEY,
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        }
    ),
)

TEXT = {"type": "string"}
BOOL = {"type": "boolean"}

CONTACT_ENCODE = group(
    "ContactCodeEncodeTest", test_schema({"bundle": HEX}, {"text": TEXT, "qrText": TEXT})
)
CONTACT_DECODE = group("ContactCodeDecodeTest", test_schema({"text": TEXT}, {"bundle": HEX}))
PAYLOAD_ENCODE = group(
    "PayloadEncodeTest",
    test_schema({"kind": U32, "messageId": HEX}, {"peer": HEX, "body": HEX, "plaintext": HEX}),
)
PAYLOAD_DECODE = group(
    "PayloadDecodeTest",
    test_schema(
        {"plaintext": HEX},
        {"decoded": obj({"kind": U32, "messageId": HEX, "peer": HEX, "body": HEX})},
    ),
)
SESSION_CHOICE = group(
    "SessionChoiceTest",
    test_schema(
        {"acceptedSessionId": KEY, "acceptedReset": BOOL},
        {
            "current": obj({"sessionId": KEY, "initiated": BOOL, "pending": BOOL}),
            "chosenSessionId": KEY,
        },
    ),
)
COPY_SELECTION = group(
    "CopySelectionTest",
    test_schema(
        {"envelope": HEX, "installationId": IID},
        {
            "selection": {"enum": ["ADDRESSED", "NO_BUNDLE", "NOT_ADDRESSED", "OWN_ENVELOPE"]},
            "index": U32,
        },
    ),
)
FAILURE_ACTION = group(
    "FailureActionTest",
    test_schema(
        {"reason": TEXT},
        {
            "chosen": obj({"sessionId": KEY, "initiated": BOOL, "pending": BOOL}),
            "action": {"enum": ["RESET", "HELLO", "EVENT_ONLY"]},
            "reuseChosen": BOOL,
        },
    ),
)

SCHEMAS = {
    "kdf": file_schema("kdf", "Parley KDF vectors", [KDF]),
    "x3dh": file_schema("x3dh", "Parley X3DH vectors", [X3DH]),
    "bundle": file_schema("bundle", "Parley bundle vectors", [BUNDLE_CREATE, BUNDLE_VERIFY]),
    "wire": file_schema(
        "wire",
        "Parley wire codec vectors",
        [RATCHET_DECODE, NO_BUNDLE_DECODE, ENVELOPE_ENCODE, ENVELOPE_DECODE],
    ),
    "versioning": file_schema("versioning", "Parley versioning vectors", [NEGOTIATE, SCENARIO]),
    "session": file_schema("session", "Parley session vectors", [SCENARIO]),
    "no_bundle": file_schema("no_bundle", "Parley no-bundle vectors", [SCENARIO]),
    "fanout": file_schema("fanout", "Parley fan-out vectors", [SCENARIO]),
    "compromise": file_schema("compromise", "Parley compromise vectors", [SCENARIO]),
    "accumulated": file_schema("accumulated", "Parley accumulated vectors", [ACCUMULATED]),
    "contact": file_schema(
        "contact", "Parley contact code vectors", [CONTACT_ENCODE, CONTACT_DECODE]
    ),
    "payload": file_schema("payload", "Parley payload vectors", [PAYLOAD_ENCODE, PAYLOAD_DECODE]),
    "multi_device": file_schema(
        "multi_device",
        "Parley multi-device decision vectors",
        [SESSION_CHOICE, COPY_SELECTION, FAILURE_ACTION],
    ),
}
