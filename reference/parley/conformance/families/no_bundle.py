"""The no-bundle family: messages sent without the recipient's bundle."""

from __future__ import annotations

from ...v1 import wire_pb2 as wire
from .common import (
    LOW_ORDER,
    h,
    text,
)
from .scenarios import (
    Build,
    scenario_file,
)


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

    # the replay cache (NOBUNDLE-020) and the order of NOBUNDLE-011
    def sealed(b: Build, recipient: str = "bob") -> str:
        return b.step(
            "sealNoBundle",
            party="alice",
            recipient=recipient,
            plaintext=text("sealed"),
            ephemeralPrivateKey=b.k.key(),
            version=1,
            name="sealed",
        )["name"]

    def opened(b: Build, party="bob", raw: bytes | None = None, expect="ok"):
        source = {"inputHex": h(raw)} if raw is not None else {"input": "sealed"}
        b.step("openNoBundle", expect, party=party, **source, senderInstallationId=b.iid("alice"))

    def altered(b: Build, *, mac=False, binding=False) -> bytes:
        msg = wire.NoBundleMessage.FromString(b.value("sealed"))
        if mac:
            m = bytearray(msg.mac)
            m[-1] ^= 1
            msg.mac = bytes(m)
        if binding:
            header = wire.NoBundleHeader.FromString(msg.header)
            sig = bytearray(header.sender_identity.binding_signature)
            sig[3] ^= 1
            header.sender_identity.binding_signature = bytes(sig)
            msg.header = header.SerializeToString()
        return msg.SerializeToString()

    b = Build(
        "no-bundle/replayed",
        "the same no-bundle message opened twice by one installation",
        ["NoBundle", "Replay"],
        ["NOBUNDLE-020"],
    )
    b.party("alice")
    b.party("bob")
    sealed(b)
    opened(b)
    opened(b, expect="REPLAYED_INITIAL_MESSAGE")
    out.append(b.done())

    b = Build(
        "no-bundle/replay-cache-per-installation",
        "one no-bundle copy is read by every installation of the account: Bob's second "
        "installation opens it after the first did; then each refuses it again",
        ["NoBundle", "Replay"],
        ["NOBUNDLE-020", "MULTI-003"],
    )
    b.party("alice")
    b.party("bob")
    b.party("bob2", same_account_as="bob")
    sealed(b)
    opened(b)
    opened(b, party="bob2")
    opened(b, expect="REPLAYED_INITIAL_MESSAGE")
    opened(b, party="bob2", expect="REPLAYED_INITIAL_MESSAGE")
    out.append(b.done())

    b = Build(
        "no-bundle/failure-not-recorded",
        "a copy with a broken MAC is refused and its EK not recorded: the genuine message "
        "opens afterwards, once",
        ["NoBundle", "Replay", "Tampered"],
        ["NOBUNDLE-020"],
    )
    b.party("alice")
    b.party("bob")
    sealed(b)
    opened(b, raw=altered(b, mac=True), expect="INVALID_MAC")
    opened(b)
    opened(b, expect="REPLAYED_INITIAL_MESSAGE")
    out.append(b.done())

    b = Build(
        "no-bundle/order/replay-before-mac",
        "an accepted EK again, with a broken MAC: the replay cache comes before the MAC",
        ["NoBundle", "CheckOrder"],
        ["NOBUNDLE-011", "NOBUNDLE-020"],
    )
    b.party("alice")
    b.party("bob")
    sealed(b)
    opened(b)
    opened(b, raw=altered(b, mac=True), expect="REPLAYED_INITIAL_MESSAGE")
    out.append(b.done())

    b = Build(
        "no-bundle/order/binding-before-replay",
        "an accepted EK again, with a broken sender binding: the binding comes first",
        ["NoBundle", "CheckOrder"],
        ["NOBUNDLE-011", "KEYS-003"],
    )
    b.party("alice")
    b.party("bob")
    sealed(b)
    opened(b)
    opened(b, raw=altered(b, binding=True), expect="INVALID_IDENTITY_BINDING")
    out.append(b.done())

    b = Build(
        "no-bundle/order/binding-before-mac",
        "a broken sender binding and a broken MAC: the binding first",
        ["NoBundle", "CheckOrder"],
        ["NOBUNDLE-011", "KEYS-003"],
    )
    b.party("alice")
    b.party("bob")
    sealed(b)
    opened(b, raw=altered(b, mac=True, binding=True), expect="INVALID_IDENTITY_BINDING")
    out.append(b.done())

    b = Build(
        "no-bundle/order/recipient-before-binding",
        "sealed for Carol, with a broken sender binding, opened by Bob: the recipient first",
        ["NoBundle", "CheckOrder"],
        ["NOBUNDLE-011"],
    )
    b.party("alice")
    b.party("bob")
    b.party("carol")
    sealed(b, recipient="carol")
    opened(b, raw=altered(b, binding=True), expect="MALFORMED_MESSAGE")
    out.append(b.done())
    return out


def no_bundle_file() -> dict:
    return scenario_file(
        "no_bundle",
        "PARLEY-NO-BUNDLE",
        "Messages sent without the recipient's bundle.",
        no_bundle_scenarios(),
    )
