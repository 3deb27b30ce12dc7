from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IdentityState(_message.Message):
    __slots__ = ("format_version", "profile", "signing_private_key", "dh_private_key", "binding_signature")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    DH_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    BINDING_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    profile: int
    signing_private_key: bytes
    dh_private_key: bytes
    binding_signature: bytes
    def __init__(self, format_version: _Optional[int] = ..., profile: _Optional[int] = ..., signing_private_key: _Optional[bytes] = ..., dh_private_key: _Optional[bytes] = ..., binding_signature: _Optional[bytes] = ...) -> None: ...

class SignedPreKeyState(_message.Message):
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

class OneTimePreKeyState(_message.Message):
    __slots__ = ("id", "private_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    private_key: bytes
    def __init__(self, id: _Optional[int] = ..., private_key: _Optional[bytes] = ...) -> None: ...

class InstallationState(_message.Message):
    __slots__ = ("format_version", "installation_id", "signed_prekeys", "one_time_prekeys", "next_prekey_id", "seen_initial_messages")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PREKEYS_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    SEEN_INITIAL_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    installation_id: bytes
    signed_prekeys: _containers.RepeatedCompositeFieldContainer[SignedPreKeyState]
    one_time_prekeys: _containers.RepeatedCompositeFieldContainer[OneTimePreKeyState]
    next_prekey_id: int
    seen_initial_messages: _containers.RepeatedCompositeFieldContainer[SeenInitialMessage]
    def __init__(self, format_version: _Optional[int] = ..., installation_id: _Optional[bytes] = ..., signed_prekeys: _Optional[_Iterable[_Union[SignedPreKeyState, _Mapping]]] = ..., one_time_prekeys: _Optional[_Iterable[_Union[OneTimePreKeyState, _Mapping]]] = ..., next_prekey_id: _Optional[int] = ..., seen_initial_messages: _Optional[_Iterable[_Union[SeenInitialMessage, _Mapping]]] = ...) -> None: ...

class SeenInitialMessage(_message.Message):
    __slots__ = ("signed_prekey_id", "ephemeral_key")
    SIGNED_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    signed_prekey_id: int
    ephemeral_key: bytes
    def __init__(self, signed_prekey_id: _Optional[int] = ..., ephemeral_key: _Optional[bytes] = ...) -> None: ...

class SkippedMessageKey(_message.Message):
    __slots__ = ("ratchet_key", "message_number", "message_key")
    RATCHET_KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_KEY_FIELD_NUMBER: _ClassVar[int]
    ratchet_key: bytes
    message_number: int
    message_key: bytes
    def __init__(self, ratchet_key: _Optional[bytes] = ..., message_number: _Optional[int] = ..., message_key: _Optional[bytes] = ...) -> None: ...

class RetiredChain(_message.Message):
    __slots__ = ("ratchet_key", "length")
    RATCHET_KEY_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ratchet_key: bytes
    length: int
    def __init__(self, ratchet_key: _Optional[bytes] = ..., length: _Optional[int] = ...) -> None: ...

class PendingX3DH(_message.Message):
    __slots__ = ("signed_prekey_id", "one_time_prekey_id")
    SIGNED_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    signed_prekey_id: int
    one_time_prekey_id: int
    def __init__(self, signed_prekey_id: _Optional[int] = ..., one_time_prekey_id: _Optional[int] = ...) -> None: ...

class SessionState(_message.Message):
    __slots__ = ("format_version", "profile", "version", "initiator", "local_identity", "remote_identity", "local_installation_id", "remote_installation_id", "root_key", "sending_ratchet_private_key", "sending_chain_key", "sending_message_number", "receiving_ratchet_key", "receiving_chain_key", "receiving_message_number", "previous_sending_chain_length", "skipped_message_keys", "retired_chains", "pending_x3dh", "ephemeral_key")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_FIELD_NUMBER: _ClassVar[int]
    LOCAL_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    REMOTE_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    LOCAL_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    REMOTE_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOT_KEY_FIELD_NUMBER: _ClassVar[int]
    SENDING_RATCHET_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    SENDING_CHAIN_KEY_FIELD_NUMBER: _ClassVar[int]
    SENDING_MESSAGE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_RATCHET_KEY_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_CHAIN_KEY_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_MESSAGE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SENDING_CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_MESSAGE_KEYS_FIELD_NUMBER: _ClassVar[int]
    RETIRED_CHAINS_FIELD_NUMBER: _ClassVar[int]
    PENDING_X3DH_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    profile: int
    version: int
    initiator: bool
    local_identity: bytes
    remote_identity: bytes
    local_installation_id: bytes
    remote_installation_id: bytes
    root_key: bytes
    sending_ratchet_private_key: bytes
    sending_chain_key: bytes
    sending_message_number: int
    receiving_ratchet_key: bytes
    receiving_chain_key: bytes
    receiving_message_number: int
    previous_sending_chain_length: int
    skipped_message_keys: _containers.RepeatedCompositeFieldContainer[SkippedMessageKey]
    retired_chains: _containers.RepeatedCompositeFieldContainer[RetiredChain]
    pending_x3dh: PendingX3DH
    ephemeral_key: bytes
    def __init__(self, format_version: _Optional[int] = ..., profile: _Optional[int] = ..., version: _Optional[int] = ..., initiator: _Optional[bool] = ..., local_identity: _Optional[bytes] = ..., remote_identity: _Optional[bytes] = ..., local_installation_id: _Optional[bytes] = ..., remote_installation_id: _Optional[bytes] = ..., root_key: _Optional[bytes] = ..., sending_ratchet_private_key: _Optional[bytes] = ..., sending_chain_key: _Optional[bytes] = ..., sending_message_number: _Optional[int] = ..., receiving_ratchet_key: _Optional[bytes] = ..., receiving_chain_key: _Optional[bytes] = ..., receiving_message_number: _Optional[int] = ..., previous_sending_chain_length: _Optional[int] = ..., skipped_message_keys: _Optional[_Iterable[_Union[SkippedMessageKey, _Mapping]]] = ..., retired_chains: _Optional[_Iterable[_Union[RetiredChain, _Mapping]]] = ..., pending_x3dh: _Optional[_Union[PendingX3DH, _Mapping]] = ..., ephemeral_key: _Optional[bytes] = ...) -> None: ...
