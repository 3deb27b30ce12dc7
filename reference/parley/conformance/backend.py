"""The reference implementation behind the driver interface (parley.driver.v1).

Each method takes a ``driver_pb2`` request and returns the matching response,
so the in-process driver and the gRPC server share this one class. A refused
operation raises the core's :class:`~parley.errors.ParleyError`; an operation
this backend does not offer raises :class:`NotImplementedError`.

Randomness is scripted: :class:`ScriptedRandom` hands the core exactly the
private keys that the request carries, in the order the core draws them.
"""

from __future__ import annotations

import itertools

from .. import __version__
from ..bundle import Bundle, InstallationPreKeys
from ..codec import (
    Envelope,
    InstallationMessage,
    decode_bundle,
    decode_envelope,
    decode_no_bundle_message,
    decode_ratchet_message,
    encode_envelope,
)
from ..driver.v1 import driver_pb2 as d
from ..errors import InvalidArgument
from ..keys import IdentityKey, IdentityKeyPair, InstallationKeys, OneTimePreKey, SignedPreKey
from ..no_bundle import open_no_bundle, seal_no_bundle
from ..primitives import DHKeyPair, Random
from ..profile import PROFILES, get_profile
from ..session import Session
from ..state import dump_installation
from ..versioning import CURRENT_POLICY, VersionPolicy, negotiate
from ..x3dh import associated_data, initiator_agreement, responder_agreement

__all__ = ["ReferenceBackend", "ScriptedRandom"]

_KIND_TO_PB = {"ratchet": d.MESSAGE_KIND_RATCHET, "no_bundle": d.MESSAGE_KIND_NO_BUNDLE}
_KIND_FROM_PB = {v: k for k, v in _KIND_TO_PB.items()}


class ScriptedRandom(Random):
    """Returns the given keys, in order; drawing more is an error."""

    def __init__(self, *keys: bytes) -> None:
        self._keys = [k for k in keys if k]

    def random_bytes(self, n: int) -> bytes:
        if not self._keys:
            raise InvalidArgument("the request supplies no (more) private keys")
        key = self._keys.pop(0)
        if len(key) != n:
            raise InvalidArgument(f"a private key of {n} bytes was needed, got {len(key)}")
        return key


def _policy(message: d.VersionPolicy | None) -> VersionPolicy:
    if message is None or not message.reads:
        return CURRENT_POLICY
    return VersionPolicy(frozenset(message.reads), message.writes)


class _Installation:
    __slots__ = ("identity", "keys", "no_bundle_seen", "policy", "profile")

    def __init__(self, identity, keys, policy, profile):
        self.identity = identity
        self.keys = keys
        self.policy = policy
        self.profile = profile
        #: The no-bundle replay cache (NOBUNDLE-020): EKs of accepted messages.
        self.no_bundle_seen: set[bytes] = set()


class ReferenceBackend:
    """The reference implementation, one handle table per instance."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._installations: dict[int, _Installation] = {}
        self._sessions: dict[int, Session] = {}

    def _new(self, table: dict, value) -> int:
        handle = next(self._ids)
        table[handle] = value
        return handle

    def _installation(self, handle: int) -> _Installation:
        try:
            return self._installations[handle]
        except KeyError:
            raise InvalidArgument(f"no installation with handle {handle}") from None

    def _session(self, handle: int) -> Session:
        try:
            return self._sessions[handle]
        except KeyError:
            raise InvalidArgument(f"no session with handle {handle}") from None

    # -- stateless ------------------------------------------------------------

    def GetCapabilities(self, request: d.GetCapabilitiesRequest) -> d.GetCapabilitiesResponse:
        return d.GetCapabilitiesResponse(
            implementation=f"parley-python {__version__}",
            profiles=sorted(PROFILES),
            # The codec reads any version a policy names; 2 is the vectors' test successor.
            protocol_versions=sorted(CURRENT_POLICY.reads | {2}),
        )

    def Kdf(self, request: d.KdfRequest) -> d.KdfResponse:
        profile = get_profile(request.profile)
        fn = request.function
        if fn == d.KDF_FUNCTION_ROOT:
            outputs = profile.kdf_rk(request.key, request.input)
        elif fn == d.KDF_FUNCTION_CHAIN:
            outputs = profile.kdf_ck(request.key)
        elif fn == d.KDF_FUNCTION_MESSAGE_KEYS:
            outputs = profile.message_keys(request.key)
        elif fn == d.KDF_FUNCTION_X3DH:
            outputs = (profile.x3dh_kdf(request.input),)
        elif fn == d.KDF_FUNCTION_NO_BUNDLE:
            outputs = (profile.no_bundle_kdf(request.input),)
        else:
            raise InvalidArgument("unknown KDF function")
        return d.KdfResponse(outputs=list(outputs))

    def X3dhAgreement(self, request: d.X3dhAgreementRequest) -> d.X3dhAgreementResponse:
        profile = get_profile(request.profile)
        identity = IdentityKeyPair.from_private_bytes(
            request.identity.signing_private_key, request.identity.dh_private_key, profile
        )
        peer = IdentityKey.from_bytes(request.peer_identity)
        if request.role == d.X3DH_ROLE_INITIATOR:
            agreement = initiator_agreement(
                profile,
                identity,
                DHKeyPair.from_private_bytes(request.ephemeral_private_key),
                peer,
                request.peer_signed_prekey,
                request.peer_one_time_prekey or None,
            )
            ad = associated_data(
                identity.public, request.installation_id, peer, request.peer_installation_id
            )
        elif request.role == d.X3DH_ROLE_RESPONDER:
            opk = request.one_time_prekey_private_key
            agreement = responder_agreement(
                profile,
                identity,
                DHKeyPair.from_private_bytes(request.signed_prekey_private_key),
                DHKeyPair.from_private_bytes(opk) if opk else None,
                peer,
                request.peer_ephemeral_key,
            )
            ad = associated_data(
                peer, request.peer_installation_id, identity.public, request.installation_id
            )
        else:
            raise InvalidArgument("unknown X3DH role")
        return d.X3dhAgreementResponse(
            dh_outputs=list(agreement.dh_outputs),
            shared_key=agreement.shared_key,
            associated_data=ad,
        )

    def Negotiate(self, request: d.NegotiateRequest) -> d.NegotiateResponse:
        policy = VersionPolicy(frozenset(request.policy.reads), request.policy.writes)
        return d.NegotiateResponse(version=negotiate(policy, request.peer_reads))

    # -- installations and bundles -----------------------------------------------

    def CreateInstallation(
        self, request: d.CreateInstallationRequest
    ) -> d.CreateInstallationResponse:
        profile = get_profile(request.profile)
        identity = IdentityKeyPair.from_private_bytes(
            request.identity.signing_private_key, request.identity.dh_private_key, profile
        )
        signed = [
            SignedPreKey(
                s.id, DHKeyPair.from_private_bytes(s.private_key), s.created_at, s.superseded_at
            )
            for s in request.signed_prekeys
        ]
        one_time = {
            o.id: OneTimePreKey(o.id, DHKeyPair.from_private_bytes(o.private_key))
            for o in request.one_time_prekeys
        }
        ids = [s.id for s in request.signed_prekeys] + [o.id for o in request.one_time_prekeys]
        keys = InstallationKeys(
            request.installation_id, signed, one_time, next_prekey_id=max(ids, default=0) + 1
        )
        installation = _Installation(identity, keys, _policy(request.policy), profile)
        handle = self._new(self._installations, installation)
        return d.CreateInstallationResponse(
            installation_handle=handle, identity=identity.public.to_bytes()
        )

    def ExportInstallation(
        self, request: d.ExportInstallationRequest
    ) -> d.ExportInstallationResponse:
        keys = self._installation(request.installation_handle).keys
        return d.ExportInstallationResponse(state=dump_installation(keys))

    def CreateBundle(self, request: d.CreateBundleRequest) -> d.CreateBundleResponse:
        installations = [self._installation(h) for h in request.installation_handles]
        if not installations:
            raise InvalidArgument("a bundle needs at least one installation")
        identity = installations[0].identity
        if any(i.identity.public != identity.public for i in installations):
            raise InvalidArgument("the installations belong to different accounts")
        limit = request.one_time_prekey_limit if request.HasField("one_time_prekey_limit") else None
        entries = [InstallationPreKeys.of(i.keys, i.policy, limit) for i in installations]
        bundle = Bundle.create(identity, entries, request.now, installations[0].profile)
        return d.CreateBundleResponse(bundle=bundle.to_bytes())

    def VerifyBundle(self, request: d.VerifyBundleRequest) -> d.VerifyBundleResponse:
        profile = get_profile(request.profile)
        bundle = decode_bundle(request.bundle, profile)
        bundle.verify(request.now, profile)
        return d.VerifyBundleResponse(
            profile=bundle.profile,
            identity=bundle.identity.to_bytes(),
            timestamp=bundle.timestamp,
            entries=[
                d.BundleEntry(
                    installation_id=e.installation_id,
                    signed_prekey_id=e.signed_prekey_id,
                    signed_prekey=e.signed_prekey,
                    protocol_versions=e.protocol_versions,
                    one_time_prekeys=[
                        d.OneTimePreKeyPublic(id=i, public_key=k) for i, k in e.one_time_prekeys
                    ],
                )
                for e in bundle.installations
            ],
            signed_bytes=bundle.signed_bytes(profile),
        )

    # -- sessions ----------------------------------------------------------------

    def Initiate(self, request: d.InitiateRequest) -> d.InitiateResponse:
        inst = self._installation(request.installation_handle)
        bundle = decode_bundle(request.bundle, inst.profile)
        session = Session.initiate(
            inst.identity,
            inst.keys.installation_id,
            bundle,
            request.remote_installation_id,
            now=request.now,
            rng=ScriptedRandom(request.ephemeral_private_key, request.ratchet_private_key),
            one_time_prekey_id=(
                request.one_time_prekey_id if request.HasField("one_time_prekey_id") else None
            ),
            profile=inst.profile,
            policy=inst.policy,
        )
        return d.InitiateResponse(session_handle=self._new(self._sessions, session))

    def Respond(self, request: d.RespondRequest) -> d.RespondResponse:
        inst = self._installation(request.installation_handle)
        session, plaintext = Session.respond(
            inst.identity,
            inst.keys,
            request.message,
            request.remote_installation_id,
            rng=ScriptedRandom(request.ratchet_private_key),
            profile=inst.profile,
            policy=inst.policy,
        )
        handle = self._new(self._sessions, session)
        return d.RespondResponse(session_handle=handle, plaintext=plaintext)

    def Encrypt(self, request: d.EncryptRequest) -> d.EncryptResponse:
        message = self._session(request.session_handle).encrypt(request.plaintext)
        return d.EncryptResponse(message=message)

    def Decrypt(self, request: d.DecryptRequest) -> d.DecryptResponse:
        session = self._session(request.session_handle)
        plaintext = session.decrypt(request.message, ScriptedRandom(request.ratchet_private_key))
        return d.DecryptResponse(plaintext=plaintext)

    def ExportSession(self, request: d.ExportSessionRequest) -> d.ExportSessionResponse:
        return d.ExportSessionResponse(state=self._session(request.session_handle).to_bytes())

    def ImportSession(self, request: d.ImportSessionRequest) -> d.ImportSessionResponse:
        session = Session.from_bytes(request.state)
        return d.ImportSessionResponse(session_handle=self._new(self._sessions, session))

    # -- no-bundle messages ------------------------------------------------------

    def SealNoBundle(self, request: d.SealNoBundleRequest) -> d.SealNoBundleResponse:
        inst = self._installation(request.installation_handle)
        message = seal_no_bundle(
            inst.identity,
            inst.keys.installation_id,
            IdentityKey.from_bytes(request.recipient_identity),
            request.plaintext,
            rng=ScriptedRandom(request.ephemeral_private_key),
            version=request.version or inst.policy.writes,
            profile=inst.profile,
        )
        return d.SealNoBundleResponse(message=message)

    def OpenNoBundle(self, request: d.OpenNoBundleRequest) -> d.OpenNoBundleResponse:
        inst = self._installation(request.installation_handle)
        opened = open_no_bundle(
            inst.identity,
            request.message,
            request.sender_installation_id,
            replay_cache=inst.no_bundle_seen,
            policy=inst.policy,
            profile=inst.profile,
        )
        inst.no_bundle_seen.add(opened.ephemeral_key)
        return d.OpenNoBundleResponse(
            plaintext=opened.plaintext,
            sender_identity=opened.sender.to_bytes(),
            ephemeral_key=opened.ephemeral_key,
            forward_secret=opened.forward_secret,
        )

    # -- codec ---------------------------------------------------------------------

    def DecodeRatchetMessage(
        self, request: d.DecodeRatchetMessageRequest
    ) -> d.DecodeRatchetMessageResponse:
        decoded = decode_ratchet_message(request.message, _policy(request.policy))
        header = decoded.header
        response = d.DecodeRatchetMessageResponse(
            version=header.version,
            ratchet_key=header.ratchet_key,
            previous_chain_length=header.previous_chain_length,
            message_number=header.message_number,
            ciphertext=decoded.ciphertext,
            mac=decoded.mac,
        )
        x3dh = decoded.x3dh_header
        if x3dh is not None:
            response.has_x3dh_header = True
            response.initiator_identity = x3dh.initiator_identity.to_bytes()
            response.ephemeral_key = x3dh.ephemeral_key
            response.signed_prekey_id = x3dh.signed_prekey_id
            if x3dh.one_time_prekey_id is not None:
                response.one_time_prekey_id = x3dh.one_time_prekey_id
        return response

    def DecodeNoBundleMessage(
        self, request: d.DecodeNoBundleMessageRequest
    ) -> d.DecodeNoBundleMessageResponse:
        decoded = decode_no_bundle_message(request.message, _policy(request.policy))
        header = decoded.header
        return d.DecodeNoBundleMessageResponse(
            version=header.version,
            sender_identity=header.sender_identity.to_bytes(),
            ephemeral_key=header.ephemeral_key,
            recipient_dh_key=header.recipient_dh_key,
            ciphertext=decoded.ciphertext,
            mac=decoded.mac,
        )

    def EncodeEnvelope(self, request: d.EncodeEnvelopeRequest) -> d.EncodeEnvelopeResponse:
        copies = []
        for copy in request.copies:
            if copy.kind not in _KIND_FROM_PB:
                raise InvalidArgument("unknown message kind")
            copies.append(
                InstallationMessage(
                    copy.recipient_installation_id or None, _KIND_FROM_PB[copy.kind], copy.body
                )
            )
        bundle = Bundle.from_bytes(request.sender_bundle) if request.sender_bundle else None
        envelope = Envelope(request.version, request.sender_installation_id, tuple(copies), bundle)
        return d.EncodeEnvelopeResponse(envelope=encode_envelope(envelope))

    def DecodeEnvelope(self, request: d.DecodeEnvelopeRequest) -> d.DecodeEnvelopeResponse:
        envelope = decode_envelope(request.envelope, _policy(request.policy))
        return d.DecodeEnvelopeResponse(
            version=envelope.version,
            sender_installation_id=envelope.sender_installation_id,
            copies=[
                d.EnvelopeCopy(
                    recipient_installation_id=c.recipient_installation_id or b"",
                    kind=_KIND_TO_PB[c.kind],
                    body=c.body,
                )
                for c in envelope.messages
            ],
            sender_bundle=envelope.sender_bundle.to_bytes() if envelope.sender_bundle else b"",
        )

    # -- library layer: contact codes, payloads, decisions ---------------------------

    def EncodeContactCode(self, request: d.EncodeContactCodeRequest) -> d.EncodeContactCodeResponse:
        from ..client.contact_code import encode_contact_code

        text = encode_contact_code(decode_bundle(request.bundle))
        return d.EncodeContactCodeResponse(text=text, qr_text=text.upper())

    def DecodeContactCode(self, request: d.DecodeContactCodeRequest) -> d.DecodeContactCodeResponse:
        from ..client.contact_code import decode_contact_code

        return d.DecodeContactCodeResponse(bundle=decode_contact_code(request.text).to_bytes())

    def EncodePayload(self, request: d.EncodePayloadRequest) -> d.EncodePayloadResponse:
        from ..client.payload import Payload, encode_payload

        payload = Payload(request.kind, request.message_id, request.body, request.peer or None)
        return d.EncodePayloadResponse(plaintext=encode_payload(payload))

    def DecodePayload(self, request: d.DecodePayloadRequest) -> d.DecodePayloadResponse:
        from ..client.payload import decode_payload

        payload = decode_payload(request.plaintext)
        return d.DecodePayloadResponse(
            kind=payload.kind,
            message_id=payload.message_id,
            peer=payload.peer or b"",
            body=payload.body,
        )

    def ChooseSession(self, request: d.ChooseSessionRequest) -> d.ChooseSessionResponse:
        from ..client.decisions import SessionCandidate, choose_session

        current = None
        if request.HasField("current"):
            c = request.current
            current = SessionCandidate(c.session_id, c.initiated, c.pending)
        chosen = choose_session(current, request.accepted_session_id, request.accepted_reset)
        return d.ChooseSessionResponse(chosen_session_id=chosen)

    def SelectCopy(self, request: d.SelectCopyRequest) -> d.SelectCopyResponse:
        from ..client.decisions import select_copy

        selection, index = select_copy(decode_envelope(request.envelope), request.installation_id)
        return d.SelectCopyResponse(
            selection=d.CopySelection.Value("COPY_SELECTION_" + selection), index=index or 0
        )

    def DecideFailure(self, request: d.DecideFailureRequest) -> d.DecideFailureResponse:
        from ..client.decisions import SessionCandidate, failure_action, reuses_chosen

        action = failure_action(request.reason)
        chosen = None
        if request.HasField("chosen"):
            c = request.chosen
            chosen = SessionCandidate(c.session_id, c.initiated, c.pending)
        return d.DecideFailureResponse(
            action=d.FailureAction.Value("FAILURE_ACTION_" + action),
            reuse_chosen=reuses_chosen(action, chosen),
        )
