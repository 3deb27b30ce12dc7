"""What the scenario families share: the scenario builder and its helpers."""

from __future__ import annotations

from ... import primitives as P
from ...codec import encode_ratchet_header, encode_ratchet_message, encode_x3dh_header
from ...state import load_session
from ...v1 import wire_pb2 as wire
from ..scenario import Scenario
from .common import (
    DAY,
    NOW,
    F,
    Keys,
    _case,
    _driver,
    _file,
    h,
    text,
)

# == scenarios =====================================================================

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
    "Replay": {
        "bugType": "MISSING_STEP",
        "description": "An initial or a no-bundle message replayed (X3DH-040, NOBUNDLE-020).",
    },
    "CheckOrder": {
        "bugType": "FUNCTIONALITY",
        "description": "Two faults in one input: the spec's order of checks (X3DH-043, "
        "NOBUNDLE-011) says which one gives the code.",
    },
    "BadBinding": {
        "bugType": "AUTH_BYPASS",
        "description": "An identity whose binding signature does not verify (KEYS-003).",
    },
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
        # CONF-003's order: identity, installation id, signed prekeys, one-time prekeys
        installation_id = k.raw(16).hex()
        # With old_spk, the current signed prekey replaced the old one when that
        # turned 7 days old (PREKEY-001), 2 days ago.
        rotated = NOW - 2 * DAY
        spks = [
            {
                "id": 2 if old_spk else 1,
                "privateKey": k.key(),
                "createdAt": rotated if old_spk else NOW - DAY,
            }
        ]
        if old_spk:
            spks.append(
                {
                    "id": 1,
                    "privateKey": k.key(),
                    "createdAt": rotated - 7 * DAY,
                    "supersededAt": rotated,
                }
            )
        party = {
            "side": "a" if name.startswith("alice") else "b",
            "signingPrivateKey": sign,
            "dhPrivateKey": dh,
            "installationId": installation_id,
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
        for party in parties:  # PREKEY-001: a bundle never offers a prekey due for rotation
            current = self.test["parties"][party]["signedPreKeys"][0]
            if not 0 <= now - current["createdAt"] < F.signed_prekey_rotation:
                raise AssertionError(f"{self.test['tcId']}: {party}'s signed prekey is due")
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


def scenario_file(name: str, algorithm: str, header: str, tests: list[dict]) -> dict:
    return _file(
        algorithm,
        f"{name}.schema.json",
        [header],
        SCENARIO_NOTES,
        [{"type": "ScenarioTest", "tests": tests}],
    )
