"""The interpreter of scripted scenarios, shared by the generator and the runner.

A scenario test lists ``parties`` (installations with explicit private keys)
and ``steps``. Each step is one driver operation; its inputs are in the step,
its expected outputs too. With ``record=True`` (the generator, on the
reference) the outputs are written into the steps; with ``record=False`` (the
runner, on any implementation) they are compared, and the first difference
raises :class:`Mismatch`.

Byte inputs of a step are either ``input`` (the name of an earlier step's
output, as *this run* produced it) or ``inputHex`` (literal bytes, used for
crafted messages). A step that must be refused has ``error`` (a registry
code). ``stateUnchanged`` / ``installationUnchanged`` ask the runner to export
the state before and after a refused step and compare the bytes
(RATCHET-040); an implementation without export skips only that check.
"""

from __future__ import annotations

from ..driver.v1 import driver_pb2 as d
from .drivers import Refused, Unsupported
from .policy import operation_optional

__all__ = ["Mismatch", "Scenario", "from_hex", "mismatch", "to_hex"]

_KINDS = {"ratchet": d.MESSAGE_KIND_RATCHET, "no_bundle": d.MESSAGE_KIND_NO_BUNDLE}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}


class Mismatch(Exception):
    """The implementation's behaviour differs from the vector.

    ``difference`` (a :class:`~parley.conformance.diff.Difference`), when
    there is one, locates the first differing field of an output.
    """

    def __init__(self, message: str, difference=None) -> None:
        super().__init__(message)
        self.difference = difference


def mismatch(
    prefix: str,
    key: str,
    actual,
    expected,
    context: str | None = None,
    against: str = "the vector says",
) -> Mismatch:
    """A Mismatch of the output ``key``: its first differing field, both values, the offset."""
    from .diff import diff_value

    difference = diff_value(actual, expected, key, context)
    if difference is None:  # equal once normalised: say so rather than hide it
        return Mismatch(f"{prefix}{key} is {actual!r}, {against} {expected!r}")
    return Mismatch(prefix + difference.text(against), difference)


def from_hex(value: str) -> bytes:
    return bytes.fromhex(value)


def to_hex(value: bytes) -> str:
    return bytes(value).hex()


def policy_pb(policy: dict | None) -> d.VersionPolicy | None:
    if not policy:
        return None
    return d.VersionPolicy(reads=policy["reads"], writes=policy["writes"])


def installation_request(party: dict, profile: int = 1) -> d.CreateInstallationRequest:
    return d.CreateInstallationRequest(
        profile=profile,
        identity=d.IdentityPrivateKeys(
            signing_private_key=from_hex(party["signingPrivateKey"]),
            dh_private_key=from_hex(party["dhPrivateKey"]),
        ),
        installation_id=from_hex(party["installationId"]),
        signed_prekeys=[
            d.SignedPreKey(
                id=s["id"],
                private_key=from_hex(s["privateKey"]),
                created_at=s["createdAt"],
                superseded_at=s.get("supersededAt", 0),
            )
            for s in party["signedPreKeys"]
        ],
        one_time_prekeys=[
            d.OneTimePreKey(id=o["id"], private_key=from_hex(o["privateKey"]))
            for o in party.get("oneTimePreKeys", ())
        ],
        policy=policy_pb(party.get("policy")),
    )


class Scenario:
    """One run of one scenario test against ``drivers`` (side name -> driver)."""

    def __init__(self, test: dict, drivers: dict, record: bool = False) -> None:
        self.test = test
        self.drivers = drivers
        self.record = record
        self.installations: dict[str, tuple[object, int]] = {}
        self.identities: dict[str, bytes] = {}
        self.sessions: dict[str, tuple[object, int]] = {}
        self.values: dict[str, bytes] = {}
        self.notes: list[str] = []

    # -- helpers -------------------------------------------------------------

    def driver_of(self, party: str):
        side = self.test["parties"][party].get("side", "a")
        return self.drivers.get(side) or self.drivers["a"]

    def expect(self, step: dict, key: str, actual) -> None:
        if isinstance(actual, bytes | bytearray):
            actual = to_hex(actual)
        if self.record:
            step[key] = actual
        elif step.get(key) != actual:
            prefix = f"step {self._index(step)} ({step['op']}): " if "op" in step else "party: "
            raise mismatch(prefix, key, actual, step.get(key), step.get("op"))

    def _index(self, step: dict) -> int:
        return next((i for i, s in enumerate(self.test["steps"]) if s is step), -1)

    def input(self, step: dict, key: str = "input") -> bytes:
        if key + "Hex" in step:
            return from_hex(step[key + "Hex"])
        return self.values[step[key]]

    def call(self, driver, method: str, request, step: dict):
        """The response, or None if the step expects (or, recording, got) a refusal."""
        try:
            response = driver.call(method, request)
        except Refused as exc:
            if self.record:
                step["error"] = exc.code
                return None
            if "error" not in step:
                raise Mismatch(
                    f"step {self._index(step)} ({step['op']}): refused with {exc.code}"
                ) from None
            if exc.code != step["error"]:
                raise Mismatch(
                    f"step {self._index(step)} ({step['op']}): refused with {exc.code}, "
                    f"the vector says {step['error']}"
                ) from None
            return None
        if not self.record and "error" in step:
            raise Mismatch(
                f"step {self._index(step)} ({step['op']}): accepted, "
                f"the vector says {step['error']}"
            )
        return response

    def _snapshot(self, driver, method: str, request) -> bytes | None:
        try:
            return driver.call(method, request).state
        except Unsupported:
            if not operation_optional(method, 1):  # a required operation: the case cannot run
                raise
            self.notes.append(f"{method} unsupported: state-unchanged check skipped")
            return None

    # -- the run -------------------------------------------------------------

    def run(self) -> None:
        self.start()
        for step in self.test["steps"]:
            self.do(step)

    def start(self) -> None:
        """Create every party's installation on its driver."""
        for name, party in self.test["parties"].items():
            driver = self.driver_of(name)
            response = driver.call("CreateInstallation", installation_request(party))
            self.installations[name] = (driver, response.installation_handle)
            self.identities[name] = response.identity
            self.expect(party, "identity", response.identity)

    def do(self, step: dict) -> None:
        """Run one step."""
        getattr(self, "op_" + step["op"])(step)

    def op_bundle(self, step: dict) -> None:
        parties = step["parties"]
        driver = self.driver_of(parties[0])
        request = d.CreateBundleRequest(
            installation_handles=[self.installations[p][1] for p in parties], now=step["now"]
        )
        if "oneTimePreKeyLimit" in step:
            request.one_time_prekey_limit = step["oneTimePreKeyLimit"]
        response = self.call(driver, "CreateBundle", request, step)
        if response is not None:
            self.values[step["name"]] = response.bundle
            self.expect(step, "bundle", response.bundle)

    def op_initiate(self, step: dict) -> None:
        driver, handle = self.installations[step["party"]]
        request = d.InitiateRequest(
            installation_handle=handle,
            bundle=self.input(step),
            remote_installation_id=from_hex(step["remoteInstallationId"]),
            now=step["now"],
            ephemeral_private_key=from_hex(step["ephemeralPrivateKey"]),
            ratchet_private_key=from_hex(step["ratchetPrivateKey"]),
        )
        if "oneTimePreKeyId" in step:
            request.one_time_prekey_id = step["oneTimePreKeyId"]
        response = self.call(driver, "Initiate", request, step)
        if response is not None:
            self.sessions[step["session"]] = (driver, response.session_handle)

    def op_respond(self, step: dict) -> None:
        driver, handle = self.installations[step["party"]]
        export = d.ExportInstallationRequest(installation_handle=handle)
        before = (
            self._snapshot(driver, "ExportInstallation", export)
            if step.get("installationUnchanged")
            else None
        )
        request = d.RespondRequest(
            installation_handle=handle,
            message=self.input(step),
            remote_installation_id=from_hex(step["remoteInstallationId"]),
            ratchet_private_key=from_hex(step["ratchetPrivateKey"]),
        )
        response = self.call(driver, "Respond", request, step)
        if response is not None:
            self.sessions[step["session"]] = (driver, response.session_handle)
            self.expect(step, "plaintext", response.plaintext)
        if before is not None and not self.record:
            after = driver.call("ExportInstallation", export).state
            if after != before:
                prefix = f"step {self._index(step)} (respond): the installation changed: "
                raise mismatch(prefix, "installationState", after, before, against="before it")

    def op_encrypt(self, step: dict) -> None:
        driver, handle = self.sessions[step["session"]]
        request = d.EncryptRequest(session_handle=handle, plaintext=from_hex(step["plaintext"]))
        response = None
        for _ in range(step.get("count", 1)):
            response = self.call(driver, "Encrypt", request, step)
            if response is None:
                return
        self.values[step["name"]] = response.message
        self.expect(step, "message", response.message)

    def op_decrypt(self, step: dict) -> None:
        driver, handle = self.sessions[step["session"]]
        export = d.ExportSessionRequest(session_handle=handle)
        before = (
            self._snapshot(driver, "ExportSession", export) if step.get("stateUnchanged") else None
        )
        request = d.DecryptRequest(
            session_handle=handle,
            message=self.input(step),
            ratchet_private_key=from_hex(step["ratchetPrivateKey"]),
        )
        response = self.call(driver, "Decrypt", request, step)
        if response is not None:
            self.expect(step, "plaintext", response.plaintext)
        if before is not None and not self.record:
            after = driver.call("ExportSession", export).state
            if after != before:
                prefix = f"step {self._index(step)} (decrypt): the session changed: "
                raise mismatch(prefix, "sessionState", after, before, against="before it")

    def op_exportSession(self, step: dict) -> None:
        driver, handle = self.sessions[step["session"]]
        state = driver.call("ExportSession", d.ExportSessionRequest(session_handle=handle)).state
        self.values[step["name"]] = state
        if self.record:
            step["state"] = to_hex(state)  # informative: the reference's export

    def op_importSession(self, step: dict) -> None:
        driver = self.installations[step["party"]][0]
        request = d.ImportSessionRequest(state=self.input(step))
        response = self.call(driver, "ImportSession", request, step)
        if response is not None:
            self.sessions[step["session"]] = (driver, response.session_handle)

    def op_attack(self, step: dict) -> None:
        """Import a leaked state into a fresh session and try one recorded message."""
        driver = self.installations[step["party"]][0]
        state = self.input(step, "state")
        handle = driver.call("ImportSession", d.ImportSessionRequest(state=state)).session_handle
        request = d.DecryptRequest(
            session_handle=handle,
            message=self.input(step),
            ratchet_private_key=from_hex(step["ratchetPrivateKey"]),
        )
        try:
            plaintext = driver.call("Decrypt", request).plaintext
        except Refused as exc:
            if self.record:
                step["derivable"] = False
                step["referenceError"] = exc.code
            elif step["derivable"]:
                raise Mismatch(
                    f"step {self._index(step)}: the leaked state should decrypt "
                    f"{step['input']}, but it was refused ({exc.code})"
                ) from None
            return
        if self.record:
            step["derivable"] = True
        elif not step["derivable"]:
            raise Mismatch(
                f"step {self._index(step)}: an attacker holding the leaked state "
                f"decrypts {step['input']}, which the vector says is impossible"
            )
        self.expect(step, "plaintext", plaintext)

    def op_sealNoBundle(self, step: dict) -> None:
        driver, handle = self.installations[step["party"]]
        recipient = (
            from_hex(step["recipientIdentityHex"])
            if "recipientIdentityHex" in step
            else self.identities[step["recipient"]]
        )
        request = d.SealNoBundleRequest(
            installation_handle=handle,
            recipient_identity=recipient,
            plaintext=from_hex(step["plaintext"]),
            ephemeral_private_key=from_hex(step["ephemeralPrivateKey"]),
            version=step["version"],
        )
        response = self.call(driver, "SealNoBundle", request, step)
        if response is not None:
            self.values[step["name"]] = response.message
            self.expect(step, "message", response.message)

    def op_openNoBundle(self, step: dict) -> None:
        driver, handle = self.installations[step["party"]]
        request = d.OpenNoBundleRequest(
            installation_handle=handle,
            message=self.input(step),
            sender_installation_id=from_hex(step["senderInstallationId"]),
        )
        response = self.call(driver, "OpenNoBundle", request, step)
        if response is not None:
            self.expect(step, "plaintext", response.plaintext)
            self.expect(step, "senderIdentity", response.sender_identity)
            self.expect(step, "forwardSecret", response.forward_secret)

    def op_encodeEnvelope(self, step: dict) -> None:
        driver = self.installations[step["party"]][0]
        copies = [
            d.EnvelopeCopy(
                recipient_installation_id=from_hex(c["recipientInstallationId"]),
                kind=_KINDS[c["kind"]],
                body=self.input(c, "body"),
            )
            for c in step["copies"]
        ]
        request = d.EncodeEnvelopeRequest(
            version=step["version"],
            sender_installation_id=from_hex(step["senderInstallationId"]),
            copies=copies,
            sender_bundle=self.values[step["senderBundle"]] if "senderBundle" in step else b"",
        )
        response = self.call(driver, "EncodeEnvelope", request, step)
        if response is not None:
            self.values[step["name"]] = response.envelope
            self.expect(step, "envelope", response.envelope)

    def op_decodeEnvelope(self, step: dict) -> None:
        driver = self.installations[step["party"]][0]
        request = d.DecodeEnvelopeRequest(envelope=self.input(step))
        response = self.call(driver, "DecodeEnvelope", request, step)
        if response is None:
            return
        self.expect(step, "version", response.version)
        self.expect(step, "senderInstallationId", response.sender_installation_id)
        self.expect(step, "senderBundle", response.sender_bundle)
        copies = [
            {
                "recipientInstallationId": to_hex(c.recipient_installation_id),
                "kind": _KIND_NAMES.get(c.kind, "unknown"),
                "body": to_hex(c.body),
            }
            for c in response.copies
        ]
        expected = step.get("copies", [])
        if self.record:
            step["copies"] = copies
        elif expected != copies:
            prefix = f"step {self._index(step)} (decodeEnvelope): "
            raise mismatch(prefix, "copies", copies, expected)
        for copy, name in zip(response.copies, step["copyNames"], strict=False):
            self.values[name] = copy.body
