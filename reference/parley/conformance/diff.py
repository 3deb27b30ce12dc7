"""Where an output differs from a vector: field path, both values, byte offset.

spec: conformance.md, "The runner's verdict and exit status". Encoded
protobuf outputs are decoded with the message type the case expects (see
:data:`EXPECTED_TYPES`), and the two messages are walked field by field in
field-number order; the first field that differs is reported with its path
(``installations[0].one_time_prekeys[1].public_key``), both values in full,
and the offset of the first byte at which the two encodings differ. Bytes
fields that hold an encoded message of their own (a RatchetMessage's
``header``) are decoded and walked too. Other byte strings are compared
byte by byte; JSON values (the runner's decoded views) key by key.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError, Message

from ..local.v1 import state_pb2
from ..v1 import wire_pb2

__all__ = ["EXPECTED_TYPES", "Difference", "diff_bytes", "diff_value", "expected_type"]

#: The message type of an expected output, by the vector key that holds it
#: and, where one key names different messages, the scenario step's ``op``.
EXPECTED_TYPES: dict[tuple[str, str | None], type[Message]] = {
    ("bundle", None): wire_pb2.Bundle,
    ("senderBundle", None): wire_pb2.Bundle,
    ("envelope", None): wire_pb2.Envelope,
    ("message", "encrypt"): wire_pb2.RatchetMessage,
    ("message", "sealNoBundle"): wire_pb2.NoBundleMessage,
    ("body", "ratchet"): wire_pb2.RatchetMessage,
    ("body", "no_bundle"): wire_pb2.NoBundleMessage,
    # a state exported before and after a refused step (RATCHET-040)
    ("sessionState", None): state_pb2.SessionState,
    ("installationState", None): state_pb2.InstallationState,
}

#: Bytes fields that carry an encoded message, decoded before they are compared.
NESTED_TYPES: dict[str, type[Message]] = {
    "parley.v1.RatchetMessage.header": wire_pb2.RatchetHeader,
    "parley.v1.RatchetMessage.x3dh_header": wire_pb2.X3DHHeader,
    "parley.v1.NoBundleMessage.header": wire_pb2.NoBundleHeader,
}

#: Fixed layouts of raw byte strings: name -> [(part, length)].
RAW_LAYOUTS: dict[str, list[tuple[str, int]]] = {
    # an identity: signing key || DH key || binding signature (driver.proto)
    "identity": [("signing_key", 32), ("dh_key", 32), ("binding_signature", 64)],
    "senderIdentity": [("signing_key", 32), ("dh_key", 32), ("binding_signature", 64)],
}


def expected_type(key: str, context: str | None = None) -> type[Message] | None:
    """The message type the vector expects under ``key`` (in a step ``context``)."""
    return EXPECTED_TYPES.get((key, context)) or EXPECTED_TYPES.get((key, None))


@dataclass(frozen=True)
class Difference:
    """The first difference between an actual output and the vector's."""

    path: str
    actual: str
    expected: str
    offset: int | None = None  # first differing byte of the two encodings
    message_type: str | None = None
    note: str = ""

    def text(self, against: str = "the vector says") -> str:
        where = f" (as {self.message_type})" if self.message_type else ""
        at = f", first differing byte at offset {self.offset}" if self.offset is not None else ""
        note = f"; {self.note}" if self.note else ""
        return f"{self.path}{where} is {self.actual}, {against} {self.expected}{at}{note}"

    def as_json(self) -> dict:
        out = {"path": self.path, "actual": self.actual, "expected": self.expected}
        if self.offset is not None:
            out["offset"] = self.offset
        if self.message_type:
            out["messageType"] = self.message_type
        if self.note:
            out["note"] = self.note
        return out


def first_difference(a: bytes, b: bytes) -> int | None:
    """The first offset at which ``a`` and ``b`` differ (a shorter one ends there)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def _render(value) -> str:
    if isinstance(value, bytes | bytearray):
        return f"{bytes(value).hex() or '(empty)'} ({len(value)} bytes)"
    if value is None:
        return "(absent)"
    return repr(value)


def diff_bytes(
    actual: bytes, expected: bytes, name: str, message_type: type[Message] | None = None
) -> Difference | None:
    """The first difference of two byte strings, decoded as ``message_type`` if given."""
    actual, expected = bytes(actual), bytes(expected)
    offset = first_difference(actual, expected)
    if offset is None:
        return None
    if message_type is not None:
        full = message_type.DESCRIPTOR.full_name
        try:
            mine = message_type.FromString(actual)
        except DecodeError as exc:
            return Difference(
                name, _render(actual), _render(expected), offset, full, f"it does not decode: {exc}"
            )
        try:
            theirs = message_type.FromString(expected)
        except DecodeError as exc:  # a vector whose bytes are deliberately malformed
            theirs = None
            note = f"the vector's bytes do not decode: {exc}"
        if theirs is not None:
            found = _diff_messages(mine, theirs, name)
            if found is not None:
                path, a, b = found
                return Difference(path, a, b, offset, full)
            note = (
                "the decoded fields are equal; the encodings differ (field order, default "
                "values written, or unknown fields: WIRE-004)"
            )
        return Difference(name, _render(actual), _render(expected), offset, full, note)
    layout = RAW_LAYOUTS.get(name)
    if layout and len(actual) == len(expected) == sum(n for _, n in layout):
        start = 0
        for part, n in layout:
            if start <= offset < start + n:
                return Difference(
                    f"{name}.{part}",
                    _render(actual[start : start + n]),
                    _render(expected[start : start + n]),
                    offset,
                )
            start += n
    return Difference(name, _render(actual), _render(expected), offset)


def _diff_messages(a: Message, b: Message, path: str):
    """(path, actual, expected) of the first differing field, or None."""
    for fd in sorted(a.DESCRIPTOR.fields, key=lambda f: f.number):
        where = f"{path}.{fd.name}" if path else fd.name
        if fd.is_repeated:
            xs, ys = list(getattr(a, fd.name)), list(getattr(b, fd.name))
            for i, (x, y) in enumerate(zip(xs, ys, strict=False)):
                found = _diff_value(fd, x, y, f"{where}[{i}]")
                if found is not None:
                    return found
            if len(xs) != len(ys):
                i = min(len(xs), len(ys))
                x = _show(fd, xs[i]) if i < len(xs) else f"(absent: {len(xs)} items)"
                y = _show(fd, ys[i]) if i < len(ys) else f"(absent: {len(ys)} items)"
                return f"{where}[{i}]", x, y
            continue
        if fd.has_presence and a.HasField(fd.name) != b.HasField(fd.name):
            x = _show(fd, getattr(a, fd.name)) if a.HasField(fd.name) else "(absent)"
            y = _show(fd, getattr(b, fd.name)) if b.HasField(fd.name) else "(absent)"
            return where, x, y
        found = _diff_value(fd, getattr(a, fd.name), getattr(b, fd.name), where)
        if found is not None:
            return found
    return None


def _diff_value(fd, x, y, where: str):
    if fd.type == fd.TYPE_MESSAGE:
        return _diff_messages(x, y, where)
    if x == y:
        return None
    nested = NESTED_TYPES.get(fd.full_name)
    if nested is not None:
        try:
            found = _diff_messages(nested.FromString(x), nested.FromString(y), where)
        except DecodeError:
            found = None
        if found is not None:
            return found
    return where, _show(fd, x), _show(fd, y)


def _show(fd, value) -> str:
    if fd.type == fd.TYPE_MESSAGE:
        return "{" + str(value).strip().replace("\n", "; ") + "}"
    if fd.type == fd.TYPE_ENUM:
        enum = fd.enum_type.values_by_number.get(value)
        return enum.name if enum else repr(value)
    return _render(value)


def diff_value(actual, expected, name: str, context: str | None = None) -> Difference | None:
    """The first difference of two JSON values (hex strings as bytes), or None."""
    if actual == expected:
        return None
    if isinstance(actual, bytes | bytearray) and isinstance(expected, bytes | bytearray):
        return diff_bytes(actual, expected, name, expected_type(name, context))
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            if actual.get(key) != expected.get(key):
                sub = actual.get("kind") if key == "body" else context
                return diff_value(actual.get(key), expected.get(key), f"{name}.{key}", sub)
        return None
    if isinstance(actual, list) and isinstance(expected, list):
        for i, (x, y) in enumerate(zip(actual, expected, strict=False)):
            if x != y:
                return diff_value(x, y, f"{name}[{i}]", context)
        i = min(len(actual), len(expected))
        x = repr(actual[i]) if i < len(actual) else f"(absent: {len(actual)} items)"
        y = repr(expected[i]) if i < len(expected) else f"(absent: {len(expected)} items)"
        return Difference(f"{name}[{i}]", x, y)
    if isinstance(actual, str) and isinstance(expected, str) and _is_hex(actual, expected):
        key = name.rsplit(".", 1)[-1].split("[", 1)[0]
        found = diff_bytes(
            bytes.fromhex(actual), bytes.fromhex(expected), key, expected_type(key, context)
        )
        if found is not None and name != key:
            found = Difference(
                name + found.path[len(key) :],
                found.actual,
                found.expected,
                found.offset,
                found.message_type,
                found.note,
            )
        return found
    return Difference(name, repr(actual), repr(expected))


def _is_hex(*values: str) -> bool:
    try:
        for value in values:
            bytes.fromhex(value)
    except ValueError:
        return False
    return all(len(v) % 2 == 0 for v in values)
