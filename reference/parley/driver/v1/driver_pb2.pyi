from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KdfFunction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KDF_FUNCTION_UNSPECIFIED: _ClassVar[KdfFunction]
    KDF_FUNCTION_ROOT: _ClassVar[KdfFunction]
    KDF_FUNCTION_CHAIN: _ClassVar[KdfFunction]
    KDF_FUNCTION_MESSAGE_KEYS: _ClassVar[KdfFunction]
    KDF_FUNCTION_X3DH: _ClassVar[KdfFunction]
    KDF_FUNCTION_NO_BUNDLE: _ClassVar[KdfFunction]

class X3dhRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    X3DH_ROLE_UNSPECIFIED: _ClassVar[X3dhRole]
    X3DH_ROLE_INITIATOR: _ClassVar[X3dhRole]
    X3DH_ROLE_RESPONDER: _ClassVar[X3dhRole]

class MessageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_KIND_UNSPECIFIED: _ClassVar[MessageKind]
    MESSAGE_KIND_RATCHET: _ClassVar[MessageKind]
    MESSAGE_KIND_NO_BUNDLE: _ClassVar[MessageKind]

class CopySelection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COPY_SELECTION_UNSPECIFIED: _ClassVar[CopySelection]
    COPY_SELECTION_ADDRESSED: _ClassVar[CopySelection]
    COPY_SELECTION_NO_BUNDLE: _ClassVar[CopySelection]
    COPY_SELECTION_NOT_ADDRESSED: _ClassVar[CopySelection]
    COPY_SELECTION_OWN_ENVELOPE: _ClassVar[CopySelection]

class FailureAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_ACTION_UNSPECIFIED: _ClassVar[FailureAction]
    FAILURE_ACTION_RESET: _ClassVar[FailureAction]
    FAILURE_ACTION_HELLO: _ClassVar[FailureAction]
    FAILURE_ACTION_EVENT_ONLY: _ClassVar[FailureAction]
KDF_FUNCTION_UNSPECIFIED: KdfFunction
KDF_FUNCTION_ROOT: KdfFunction
KDF_FUNCTION_CHAIN: KdfFunction
KDF_FUNCTION_MESSAGE_KEYS: KdfFunction
KDF_FUNCTION_X3DH: KdfFunction
KDF_FUNCTION_NO_BUNDLE: KdfFunction
X3DH_ROLE_UNSPECIFIED: X3dhRole
X3DH_ROLE_INITIATOR: X3dhRole
X3DH_ROLE_RESPONDER: X3dhRole
MESSAGE_KIND_UNSPECIFIED: MessageKind
MESSAGE_KIND_RATCHET: MessageKind
MESSAGE_KIND_NO_BUNDLE: MessageKind
COPY_SELECTION_UNSPECIFIED: CopySelection
COPY_SELECTION_ADDRESSED: CopySelection
COPY_SELECTION_NO_BUNDLE: CopySelection
COPY_SELECTION_NOT_ADDRESSED: CopySelection
COPY_SELECTION_OWN_ENVELOPE: CopySelection
FAILURE_ACTION_UNSPECIFIED: FailureAction
FAILURE_ACTION_RESET: FailureAction
FAILURE_ACTION_HELLO: FailureAction
FAILURE_ACTION_EVENT_ONLY: FailureAction

class IdentityPrivateKeys(_message.Message):
    __slots__ = ("signing_private_key", "dh_private_key")
    SIGNING_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    DH_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    signing_private_key: bytes
    dh_private_key: bytes
    def __init__(self, signing_private_key: _Optional[bytes] = ..., dh_private_key: _Optional[bytes] = ...) -> None: ...

class VersionPolicy(_message.Message):
    __slots__ = ("reads", "writes")
    READS_FIELD_NUMBER: _ClassVar[int]
    WRITES_FIELD_NUMBER: _ClassVar[int]
    reads: _containers.RepeatedScalarFieldContainer[int]
    writes: int
    def __init__(self, reads: _Optional[_Iterable[int]] = ..., writes: _Optional[int] = ...) -> None: ...

class SignedPreKey(_message.Message):
    __slots__ = ("id", "private_key", "created_at", "superseded_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    private_key: bytes
    created_at: int
    superseded_at: int
    def __init__(self, id: _Optional[int] = ..., private_key: _Optional[bytes] = ..., created_at: _Optional[int] = ..., superseded_at: _Optional[int] = ...) -> None: ...

class OneTimePreKey(_message.Message):
    __slots__ = ("id", "private_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    private_key: bytes
    def __init__(self, id: _Optional[int] = ..., private_key: _Optional[bytes] = ...) -> None: ...

class BundleEntry(_message.Message):
    __slots__ = ("installation_id", "signed_prekey_id", "signed_prekey", "protocol_versions", "one_time_prekeys")
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PREKEY_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEYS_FIELD_NUMBER: _ClassVar[int]
    installation_id: bytes
    signed_prekey_id: int
    signed_prekey: bytes
    protocol_versions: _containers.RepeatedScalarFieldContainer[int]
    one_time_prekeys: _containers.RepeatedCompositeFieldContainer[OneTimePreKeyPublic]
    def __init__(self, installation_id: _Optional[bytes] = ..., signed_prekey_id: _Optional[int] = ..., signed_prekey: _Optional[bytes] = ..., protocol_versions: _Optional[_Iterable[int]] = ..., one_time_prekeys: _Optional[_Iterable[_Union[OneTimePreKeyPublic, _Mapping]]] = ...) -> None: ...

class OneTimePreKeyPublic(_message.Message):
    __slots__ = ("id", "public_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    public_key: bytes
    def __init__(self, id: _Optional[int] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class EnvelopeCopy(_message.Message):
    __slots__ = ("recipient_installation_id", "kind", "body")
    RECIPIENT_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    recipient_installation_id: bytes
    kind: MessageKind
    body: bytes
    def __init__(self, recipient_installation_id: _Optional[bytes] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., body: _Optional[bytes] = ...) -> None: ...

class GetCapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCapabilitiesResponse(_message.Message):
    __slots__ = ("implementation", "profiles", "protocol_versions")
    IMPLEMENTATION_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    implementation: str
    profiles: _containers.RepeatedScalarFieldContainer[int]
    protocol_versions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, implementation: _Optional[str] = ..., profiles: _Optional[_Iterable[int]] = ..., protocol_versions: _Optional[_Iterable[int]] = ...) -> None: ...

class KdfRequest(_message.Message):
    __slots__ = ("profile", "function", "key", "input")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    profile: int
    function: KdfFunction
    key: bytes
    input: bytes
    def __init__(self, profile: _Optional[int] = ..., function: _Optional[_Union[KdfFunction, str]] = ..., key: _Optional[bytes] = ..., input: _Optional[bytes] = ...) -> None: ...

class KdfResponse(_message.Message):
    __slots__ = ("outputs",)
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, outputs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class X3dhAgreementRequest(_message.Message):
    __slots__ = ("profile", "role", "identity", "installation_id", "ephemeral_private_key", "signed_prekey_private_key", "one_time_prekey_private_key", "peer_identity", "peer_installation_id", "peer_signed_prekey", "peer_one_time_prekey", "peer_ephemeral_key")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PREKEY_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEY_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    PEER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    PEER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_SIGNED_PREKEY_FIELD_NUMBER: _ClassVar[int]
    PEER_ONE_TIME_PREKEY_FIELD_NUMBER: _ClassVar[int]
    PEER_EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    profile: int
    role: X3dhRole
    identity: IdentityPrivateKeys
    installation_id: bytes
    ephemeral_private_key: bytes
    signed_prekey_private_key: bytes
    one_time_prekey_private_key: bytes
    peer_identity: bytes
    peer_installation_id: bytes
    peer_signed_prekey: bytes
    peer_one_time_prekey: bytes
    peer_ephemeral_key: bytes
    def __init__(self, profile: _Optional[int] = ..., role: _Optional[_Union[X3dhRole, str]] = ..., identity: _Optional[_Union[IdentityPrivateKeys, _Mapping]] = ..., installation_id: _Optional[bytes] = ..., ephemeral_private_key: _Optional[bytes] = ..., signed_prekey_private_key: _Optional[bytes] = ..., one_time_prekey_private_key: _Optional[bytes] = ..., peer_identity: _Optional[bytes] = ..., peer_installation_id: _Optional[bytes] = ..., peer_signed_prekey: _Optional[bytes] = ..., peer_one_time_prekey: _Optional[bytes] = ..., peer_ephemeral_key: _Optional[bytes] = ...) -> None: ...

class X3dhAgreementResponse(_message.Message):
    __slots__ = ("dh_outputs", "shared_key", "associated_data")
    DH_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    SHARED_KEY_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATED_DATA_FIELD_NUMBER: _ClassVar[int]
    dh_outputs: _containers.RepeatedScalarFieldContainer[bytes]
    shared_key: bytes
    associated_data: bytes
    def __init__(self, dh_outputs: _Optional[_Iterable[bytes]] = ..., shared_key: _Optional[bytes] = ..., associated_data: _Optional[bytes] = ...) -> None: ...

class NegotiateRequest(_message.Message):
    __slots__ = ("policy", "peer_reads")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PEER_READS_FIELD_NUMBER: _ClassVar[int]
    policy: VersionPolicy
    peer_reads: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, policy: _Optional[_Union[VersionPolicy, _Mapping]] = ..., peer_reads: _Optional[_Iterable[int]] = ...) -> None: ...

class NegotiateResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class CreateInstallationRequest(_message.Message):
    __slots__ = ("profile", "identity", "installation_id", "signed_prekeys", "one_time_prekeys", "policy")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PREKEYS_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEYS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    profile: int
    identity: IdentityPrivateKeys
    installation_id: bytes
    signed_prekeys: _containers.RepeatedCompositeFieldContainer[SignedPreKey]
    one_time_prekeys: _containers.RepeatedCompositeFieldContainer[OneTimePreKey]
    policy: VersionPolicy
    def __init__(self, profile: _Optional[int] = ..., identity: _Optional[_Union[IdentityPrivateKeys, _Mapping]] = ..., installation_id: _Optional[bytes] = ..., signed_prekeys: _Optional[_Iterable[_Union[SignedPreKey, _Mapping]]] = ..., one_time_prekeys: _Optional[_Iterable[_Union[OneTimePreKey, _Mapping]]] = ..., policy: _Optional[_Union[VersionPolicy, _Mapping]] = ...) -> None: ...

class CreateInstallationResponse(_message.Message):
    __slots__ = ("installation_handle", "identity")
    INSTALLATION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    installation_handle: int
    identity: bytes
    def __init__(self, installation_handle: _Optional[int] = ..., identity: _Optional[bytes] = ...) -> None: ...

class ExportInstallationRequest(_message.Message):
    __slots__ = ("installation_handle",)
    INSTALLATION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    installation_handle: int
    def __init__(self, installation_handle: _Optional[int] = ...) -> None: ...

class ExportInstallationResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: bytes
    def __init__(self, state: _Optional[bytes] = ...) -> None: ...

class CreateBundleRequest(_message.Message):
    __slots__ = ("installation_handles", "now", "one_time_prekey_limit")
    INSTALLATION_HANDLES_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    installation_handles: _containers.RepeatedScalarFieldContainer[int]
    now: int
    one_time_prekey_limit: int
    def __init__(self, installation_handles: _Optional[_Iterable[int]] = ..., now: _Optional[int] = ..., one_time_prekey_limit: _Optional[int] = ...) -> None: ...

class CreateBundleResponse(_message.Message):
    __slots__ = ("bundle",)
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    bundle: bytes
    def __init__(self, bundle: _Optional[bytes] = ...) -> None: ...

class VerifyBundleRequest(_message.Message):
    __slots__ = ("bundle", "now", "profile")
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    bundle: bytes
    now: int
    profile: int
    def __init__(self, bundle: _Optional[bytes] = ..., now: _Optional[int] = ..., profile: _Optional[int] = ...) -> None: ...

class VerifyBundleResponse(_message.Message):
    __slots__ = ("profile", "identity", "timestamp", "entries", "signed_bytes")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SIGNED_BYTES_FIELD_NUMBER: _ClassVar[int]
    profile: int
    identity: bytes
    timestamp: int
    entries: _containers.RepeatedCompositeFieldContainer[BundleEntry]
    signed_bytes: bytes
    def __init__(self, profile: _Optional[int] = ..., identity: _Optional[bytes] = ..., timestamp: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[BundleEntry, _Mapping]]] = ..., signed_bytes: _Optional[bytes] = ...) -> None: ...

class InitiateRequest(_message.Message):
    __slots__ = ("installation_handle", "bundle", "remote_installation_id", "now", "one_time_prekey_id", "ephemeral_private_key", "ratchet_private_key")
    INSTALLATION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    RATCHET_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    installation_handle: int
    bundle: bytes
    remote_installation_id: bytes
    now: int
    one_time_prekey_id: int
    ephemeral_private_key: bytes
    ratchet_private_key: bytes
    def __init__(self, installation_handle: _Optional[int] = ..., bundle: _Optional[bytes] = ..., remote_installation_id: _Optional[bytes] = ..., now: _Optional[int] = ..., one_time_prekey_id: _Optional[int] = ..., ephemeral_private_key: _Optional[bytes] = ..., ratchet_private_key: _Optional[bytes] = ...) -> None: ...

class InitiateResponse(_message.Message):
    __slots__ = ("session_handle",)
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    session_handle: int
    def __init__(self, session_handle: _Optional[int] = ...) -> None: ...

class RespondRequest(_message.Message):
    __slots__ = ("installation_handle", "message", "remote_installation_id", "ratchet_private_key")
    INSTALLATION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    RATCHET_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    installation_handle: int
    message: bytes
    remote_installation_id: bytes
    ratchet_private_key: bytes
    def __init__(self, installation_handle: _Optional[int] = ..., message: _Optional[bytes] = ..., remote_installation_id: _Optional[bytes] = ..., ratchet_private_key: _Optional[bytes] = ...) -> None: ...

class RespondResponse(_message.Message):
    __slots__ = ("session_handle", "plaintext")
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    session_handle: int
    plaintext: bytes
    def __init__(self, session_handle: _Optional[int] = ..., plaintext: _Optional[bytes] = ...) -> None: ...

class EncryptRequest(_message.Message):
    __slots__ = ("session_handle", "plaintext")
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    session_handle: int
    plaintext: bytes
    def __init__(self, session_handle: _Optional[int] = ..., plaintext: _Optional[bytes] = ...) -> None: ...

class EncryptResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: bytes
    def __init__(self, message: _Optional[bytes] = ...) -> None: ...

class DecryptRequest(_message.Message):
    __slots__ = ("session_handle", "message", "ratchet_private_key")
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RATCHET_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    session_handle: int
    message: bytes
    ratchet_private_key: bytes
    def __init__(self, session_handle: _Optional[int] = ..., message: _Optional[bytes] = ..., ratchet_private_key: _Optional[bytes] = ...) -> None: ...

class DecryptResponse(_message.Message):
    __slots__ = ("plaintext",)
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    plaintext: bytes
    def __init__(self, plaintext: _Optional[bytes] = ...) -> None: ...

class ExportSessionRequest(_message.Message):
    __slots__ = ("session_handle",)
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    session_handle: int
    def __init__(self, session_handle: _Optional[int] = ...) -> None: ...

class ExportSessionResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: bytes
    def __init__(self, state: _Optional[bytes] = ...) -> None: ...

class ImportSessionRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: bytes
    def __init__(self, state: _Optional[bytes] = ...) -> None: ...

class ImportSessionResponse(_message.Message):
    __slots__ = ("session_handle",)
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    session_handle: int
    def __init__(self, session_handle: _Optional[int] = ...) -> None: ...

class SealNoBundleRequest(_message.Message):
    __slots__ = ("installation_handle", "recipient_identity", "plaintext", "ephemeral_private_key", "version")
    INSTALLATION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    installation_handle: int
    recipient_identity: bytes
    plaintext: bytes
    ephemeral_private_key: bytes
    version: int
    def __init__(self, installation_handle: _Optional[int] = ..., recipient_identity: _Optional[bytes] = ..., plaintext: _Optional[bytes] = ..., ephemeral_private_key: _Optional[bytes] = ..., version: _Optional[int] = ...) -> None: ...

class SealNoBundleResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: bytes
    def __init__(self, message: _Optional[bytes] = ...) -> None: ...

class OpenNoBundleRequest(_message.Message):
    __slots__ = ("installation_handle", "message", "sender_installation_id")
    INSTALLATION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SENDER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    installation_handle: int
    message: bytes
    sender_installation_id: bytes
    def __init__(self, installation_handle: _Optional[int] = ..., message: _Optional[bytes] = ..., sender_installation_id: _Optional[bytes] = ...) -> None: ...

class OpenNoBundleResponse(_message.Message):
    __slots__ = ("plaintext", "sender_identity", "ephemeral_key", "forward_secret")
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    SENDER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    FORWARD_SECRET_FIELD_NUMBER: _ClassVar[int]
    plaintext: bytes
    sender_identity: bytes
    ephemeral_key: bytes
    forward_secret: bool
    def __init__(self, plaintext: _Optional[bytes] = ..., sender_identity: _Optional[bytes] = ..., ephemeral_key: _Optional[bytes] = ..., forward_secret: _Optional[bool] = ...) -> None: ...

class DecodeRatchetMessageRequest(_message.Message):
    __slots__ = ("message", "policy")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    message: bytes
    policy: VersionPolicy
    def __init__(self, message: _Optional[bytes] = ..., policy: _Optional[_Union[VersionPolicy, _Mapping]] = ...) -> None: ...

class DecodeRatchetMessageResponse(_message.Message):
    __slots__ = ("version", "ratchet_key", "previous_chain_length", "message_number", "ciphertext", "mac", "has_x3dh_header", "initiator_identity", "ephemeral_key", "signed_prekey_id", "one_time_prekey_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RATCHET_KEY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    HAS_X3DH_HEADER_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    version: int
    ratchet_key: bytes
    previous_chain_length: int
    message_number: int
    ciphertext: bytes
    mac: bytes
    has_x3dh_header: bool
    initiator_identity: bytes
    ephemeral_key: bytes
    signed_prekey_id: int
    one_time_prekey_id: int
    def __init__(self, version: _Optional[int] = ..., ratchet_key: _Optional[bytes] = ..., previous_chain_length: _Optional[int] = ..., message_number: _Optional[int] = ..., ciphertext: _Optional[bytes] = ..., mac: _Optional[bytes] = ..., has_x3dh_header: _Optional[bool] = ..., initiator_identity: _Optional[bytes] = ..., ephemeral_key: _Optional[bytes] = ..., signed_prekey_id: _Optional[int] = ..., one_time_prekey_id: _Optional[int] = ...) -> None: ...

class DecodeNoBundleMessageRequest(_message.Message):
    __slots__ = ("message", "policy")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    message: bytes
    policy: VersionPolicy
    def __init__(self, message: _Optional[bytes] = ..., policy: _Optional[_Union[VersionPolicy, _Mapping]] = ...) -> None: ...

class DecodeNoBundleMessageResponse(_message.Message):
    __slots__ = ("version", "sender_identity", "ephemeral_key", "recipient_dh_key", "ciphertext", "mac")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SENDER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_DH_KEY_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    version: int
    sender_identity: bytes
    ephemeral_key: bytes
    recipient_dh_key: bytes
    ciphertext: bytes
    mac: bytes
    def __init__(self, version: _Optional[int] = ..., sender_identity: _Optional[bytes] = ..., ephemeral_key: _Optional[bytes] = ..., recipient_dh_key: _Optional[bytes] = ..., ciphertext: _Optional[bytes] = ..., mac: _Optional[bytes] = ...) -> None: ...

class EncodeEnvelopeRequest(_message.Message):
    __slots__ = ("version", "sender_installation_id", "copies", "sender_bundle")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SENDER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    COPIES_FIELD_NUMBER: _ClassVar[int]
    SENDER_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    version: int
    sender_installation_id: bytes
    copies: _containers.RepeatedCompositeFieldContainer[EnvelopeCopy]
    sender_bundle: bytes
    def __init__(self, version: _Optional[int] = ..., sender_installation_id: _Optional[bytes] = ..., copies: _Optional[_Iterable[_Union[EnvelopeCopy, _Mapping]]] = ..., sender_bundle: _Optional[bytes] = ...) -> None: ...

class EncodeEnvelopeResponse(_message.Message):
    __slots__ = ("envelope",)
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    def __init__(self, envelope: _Optional[bytes] = ...) -> None: ...

class DecodeEnvelopeRequest(_message.Message):
    __slots__ = ("envelope", "policy")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    policy: VersionPolicy
    def __init__(self, envelope: _Optional[bytes] = ..., policy: _Optional[_Union[VersionPolicy, _Mapping]] = ...) -> None: ...

class DecodeEnvelopeResponse(_message.Message):
    __slots__ = ("version", "sender_installation_id", "copies", "sender_bundle")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SENDER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    COPIES_FIELD_NUMBER: _ClassVar[int]
    SENDER_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    version: int
    sender_installation_id: bytes
    copies: _containers.RepeatedCompositeFieldContainer[EnvelopeCopy]
    sender_bundle: bytes
    def __init__(self, version: _Optional[int] = ..., sender_installation_id: _Optional[bytes] = ..., copies: _Optional[_Iterable[_Union[EnvelopeCopy, _Mapping]]] = ..., sender_bundle: _Optional[bytes] = ...) -> None: ...

class EncodeContactCodeRequest(_message.Message):
    __slots__ = ("bundle",)
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    bundle: bytes
    def __init__(self, bundle: _Optional[bytes] = ...) -> None: ...

class EncodeContactCodeResponse(_message.Message):
    __slots__ = ("text", "qr_text")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    QR_TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    qr_text: str
    def __init__(self, text: _Optional[str] = ..., qr_text: _Optional[str] = ...) -> None: ...

class DecodeContactCodeRequest(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class DecodeContactCodeResponse(_message.Message):
    __slots__ = ("bundle",)
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    bundle: bytes
    def __init__(self, bundle: _Optional[bytes] = ...) -> None: ...

class EncodePayloadRequest(_message.Message):
    __slots__ = ("kind", "message_id", "peer", "body")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    kind: int
    message_id: bytes
    peer: bytes
    body: bytes
    def __init__(self, kind: _Optional[int] = ..., message_id: _Optional[bytes] = ..., peer: _Optional[bytes] = ..., body: _Optional[bytes] = ...) -> None: ...

class EncodePayloadResponse(_message.Message):
    __slots__ = ("plaintext",)
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    plaintext: bytes
    def __init__(self, plaintext: _Optional[bytes] = ...) -> None: ...

class DecodePayloadRequest(_message.Message):
    __slots__ = ("plaintext",)
    PLAINTEXT_FIELD_NUMBER: _ClassVar[int]
    plaintext: bytes
    def __init__(self, plaintext: _Optional[bytes] = ...) -> None: ...

class DecodePayloadResponse(_message.Message):
    __slots__ = ("kind", "message_id", "peer", "body")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    kind: int
    message_id: bytes
    peer: bytes
    body: bytes
    def __init__(self, kind: _Optional[int] = ..., message_id: _Optional[bytes] = ..., peer: _Optional[bytes] = ..., body: _Optional[bytes] = ...) -> None: ...

class SessionCandidate(_message.Message):
    __slots__ = ("session_id", "initiated", "pending")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    INITIATED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    session_id: bytes
    initiated: bool
    pending: bool
    def __init__(self, session_id: _Optional[bytes] = ..., initiated: _Optional[bool] = ..., pending: _Optional[bool] = ...) -> None: ...

class ChooseSessionRequest(_message.Message):
    __slots__ = ("current", "accepted_session_id", "accepted_reset")
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_RESET_FIELD_NUMBER: _ClassVar[int]
    current: SessionCandidate
    accepted_session_id: bytes
    accepted_reset: bool
    def __init__(self, current: _Optional[_Union[SessionCandidate, _Mapping]] = ..., accepted_session_id: _Optional[bytes] = ..., accepted_reset: _Optional[bool] = ...) -> None: ...

class ChooseSessionResponse(_message.Message):
    __slots__ = ("chosen_session_id",)
    CHOSEN_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    chosen_session_id: bytes
    def __init__(self, chosen_session_id: _Optional[bytes] = ...) -> None: ...

class SelectCopyRequest(_message.Message):
    __slots__ = ("envelope", "installation_id")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    installation_id: bytes
    def __init__(self, envelope: _Optional[bytes] = ..., installation_id: _Optional[bytes] = ...) -> None: ...

class SelectCopyResponse(_message.Message):
    __slots__ = ("selection", "index")
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    selection: CopySelection
    index: int
    def __init__(self, selection: _Optional[_Union[CopySelection, str]] = ..., index: _Optional[int] = ...) -> None: ...

class DecideFailureRequest(_message.Message):
    __slots__ = ("reason", "chosen")
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_FIELD_NUMBER: _ClassVar[int]
    reason: str
    chosen: SessionCandidate
    def __init__(self, reason: _Optional[str] = ..., chosen: _Optional[_Union[SessionCandidate, _Mapping]] = ...) -> None: ...

class DecideFailureResponse(_message.Message):
    __slots__ = ("action", "reuse_chosen")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REUSE_CHOSEN_FIELD_NUMBER: _ClassVar[int]
    action: FailureAction
    reuse_chosen: bool
    def __init__(self, action: _Optional[_Union[FailureAction, str]] = ..., reuse_chosen: _Optional[bool] = ...) -> None: ...
