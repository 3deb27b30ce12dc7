from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IdentityKey(_message.Message):
    __slots__ = ("signing_key", "dh_key", "binding_signature")
    SIGNING_KEY_FIELD_NUMBER: _ClassVar[int]
    DH_KEY_FIELD_NUMBER: _ClassVar[int]
    BINDING_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    signing_key: bytes
    dh_key: bytes
    binding_signature: bytes
    def __init__(self, signing_key: _Optional[bytes] = ..., dh_key: _Optional[bytes] = ..., binding_signature: _Optional[bytes] = ...) -> None: ...

class OneTimePreKey(_message.Message):
    __slots__ = ("id", "public_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    id: int
    public_key: bytes
    def __init__(self, id: _Optional[int] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class InstallationPreKeys(_message.Message):
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
    one_time_prekeys: _containers.RepeatedCompositeFieldContainer[OneTimePreKey]
    def __init__(self, installation_id: _Optional[bytes] = ..., signed_prekey_id: _Optional[int] = ..., signed_prekey: _Optional[bytes] = ..., protocol_versions: _Optional[_Iterable[int]] = ..., one_time_prekeys: _Optional[_Iterable[_Union[OneTimePreKey, _Mapping]]] = ...) -> None: ...

class Bundle(_message.Message):
    __slots__ = ("profile", "identity", "installations", "timestamp", "signature")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    INSTALLATIONS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    profile: int
    identity: IdentityKey
    installations: _containers.RepeatedCompositeFieldContainer[InstallationPreKeys]
    timestamp: int
    signature: bytes
    def __init__(self, profile: _Optional[int] = ..., identity: _Optional[_Union[IdentityKey, _Mapping]] = ..., installations: _Optional[_Iterable[_Union[InstallationPreKeys, _Mapping]]] = ..., timestamp: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class X3DHHeader(_message.Message):
    __slots__ = ("initiator_identity", "ephemeral_key", "signed_prekey_id", "one_time_prekey_id")
    INITIATOR_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PREKEY_ID_FIELD_NUMBER: _ClassVar[int]
    initiator_identity: IdentityKey
    ephemeral_key: bytes
    signed_prekey_id: int
    one_time_prekey_id: int
    def __init__(self, initiator_identity: _Optional[_Union[IdentityKey, _Mapping]] = ..., ephemeral_key: _Optional[bytes] = ..., signed_prekey_id: _Optional[int] = ..., one_time_prekey_id: _Optional[int] = ...) -> None: ...

class RatchetHeader(_message.Message):
    __slots__ = ("version", "ratchet_key", "previous_chain_length", "message_number")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RATCHET_KEY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    version: int
    ratchet_key: bytes
    previous_chain_length: int
    message_number: int
    def __init__(self, version: _Optional[int] = ..., ratchet_key: _Optional[bytes] = ..., previous_chain_length: _Optional[int] = ..., message_number: _Optional[int] = ...) -> None: ...

class RatchetMessage(_message.Message):
    __slots__ = ("header", "ciphertext", "mac", "x3dh_header")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    X3DH_HEADER_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    ciphertext: bytes
    mac: bytes
    x3dh_header: bytes
    def __init__(self, header: _Optional[bytes] = ..., ciphertext: _Optional[bytes] = ..., mac: _Optional[bytes] = ..., x3dh_header: _Optional[bytes] = ...) -> None: ...

class NoBundleHeader(_message.Message):
    __slots__ = ("version", "sender_identity", "ephemeral_key", "recipient_dh_key")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SENDER_IDENTITY_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_KEY_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_DH_KEY_FIELD_NUMBER: _ClassVar[int]
    version: int
    sender_identity: IdentityKey
    ephemeral_key: bytes
    recipient_dh_key: bytes
    def __init__(self, version: _Optional[int] = ..., sender_identity: _Optional[_Union[IdentityKey, _Mapping]] = ..., ephemeral_key: _Optional[bytes] = ..., recipient_dh_key: _Optional[bytes] = ...) -> None: ...

class NoBundleMessage(_message.Message):
    __slots__ = ("header", "ciphertext", "mac")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    ciphertext: bytes
    mac: bytes
    def __init__(self, header: _Optional[bytes] = ..., ciphertext: _Optional[bytes] = ..., mac: _Optional[bytes] = ...) -> None: ...

class InstallationMessage(_message.Message):
    __slots__ = ("recipient_installation_id", "ratchet", "no_bundle")
    RECIPIENT_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    RATCHET_FIELD_NUMBER: _ClassVar[int]
    NO_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    recipient_installation_id: bytes
    ratchet: RatchetMessage
    no_bundle: NoBundleMessage
    def __init__(self, recipient_installation_id: _Optional[bytes] = ..., ratchet: _Optional[_Union[RatchetMessage, _Mapping]] = ..., no_bundle: _Optional[_Union[NoBundleMessage, _Mapping]] = ...) -> None: ...

class Envelope(_message.Message):
    __slots__ = ("version", "sender_installation_id", "messages", "sender_bundle")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SENDER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SENDER_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    version: int
    sender_installation_id: bytes
    messages: _containers.RepeatedCompositeFieldContainer[InstallationMessage]
    sender_bundle: Bundle
    def __init__(self, version: _Optional[int] = ..., sender_installation_id: _Optional[bytes] = ..., messages: _Optional[_Iterable[_Union[InstallationMessage, _Mapping]]] = ..., sender_bundle: _Optional[_Union[Bundle, _Mapping]] = ...) -> None: ...
