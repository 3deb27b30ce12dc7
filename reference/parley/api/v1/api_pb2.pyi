from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_INCOMING: _ClassVar[Direction]
    DIRECTION_OUTGOING: _ClassVar[Direction]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_INCOMING: Direction
DIRECTION_OUTGOING: Direction

class Installation(_message.Message):
    __slots__ = ("installation_id", "current", "first_seen")
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    installation_id: bytes
    current: bool
    first_seen: int
    def __init__(self, installation_id: _Optional[bytes] = ..., current: _Optional[bool] = ..., first_seen: _Optional[int] = ...) -> None: ...

class Contact(_message.Message):
    __slots__ = ("account_id", "fingerprint", "name", "installation_ids", "bundle_timestamp", "replied")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_IDS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    REPLIED_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    fingerprint: str
    name: str
    installation_ids: _containers.RepeatedScalarFieldContainer[bytes]
    bundle_timestamp: int
    replied: bool
    def __init__(self, account_id: _Optional[bytes] = ..., fingerprint: _Optional[str] = ..., name: _Optional[str] = ..., installation_ids: _Optional[_Iterable[bytes]] = ..., bundle_timestamp: _Optional[int] = ..., replied: _Optional[bool] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("message_id", "timestamp", "direction", "account_id", "installation_id", "body", "forward_secret")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    FORWARD_SECRET_FIELD_NUMBER: _ClassVar[int]
    message_id: bytes
    timestamp: int
    direction: Direction
    account_id: bytes
    installation_id: bytes
    body: bytes
    forward_secret: bool
    def __init__(self, message_id: _Optional[bytes] = ..., timestamp: _Optional[int] = ..., direction: _Optional[_Union[Direction, str]] = ..., account_id: _Optional[bytes] = ..., installation_id: _Optional[bytes] = ..., body: _Optional[bytes] = ..., forward_secret: _Optional[bool] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account_id", "fingerprint", "installation_id", "identity")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    fingerprint: str
    installation_id: bytes
    identity: bytes
    def __init__(self, account_id: _Optional[bytes] = ..., fingerprint: _Optional[str] = ..., installation_id: _Optional[bytes] = ..., identity: _Optional[bytes] = ...) -> None: ...

class ListInstallationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListInstallationsResponse(_message.Message):
    __slots__ = ("installations",)
    INSTALLATIONS_FIELD_NUMBER: _ClassVar[int]
    installations: _containers.RepeatedCompositeFieldContainer[Installation]
    def __init__(self, installations: _Optional[_Iterable[_Union[Installation, _Mapping]]] = ...) -> None: ...

class GetContactCodeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetContactCodeResponse(_message.Message):
    __slots__ = ("code", "bundle")
    CODE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    code: str
    bundle: bytes
    def __init__(self, code: _Optional[str] = ..., bundle: _Optional[bytes] = ...) -> None: ...

class AddContactRequest(_message.Message):
    __slots__ = ("code", "name", "update")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    update: bool
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., update: _Optional[bool] = ...) -> None: ...

class AddContactResponse(_message.Message):
    __slots__ = ("contact", "already_known", "changed")
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    ALREADY_KNOWN_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    contact: Contact
    already_known: bool
    changed: bool
    def __init__(self, contact: _Optional[_Union[Contact, _Mapping]] = ..., already_known: _Optional[bool] = ..., changed: _Optional[bool] = ...) -> None: ...

class ListContactsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListContactsResponse(_message.Message):
    __slots__ = ("contacts",)
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("contact", "body")
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    contact: str
    body: bytes
    def __init__(self, contact: _Optional[str] = ..., body: _Optional[bytes] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("message_id", "forward_secret", "delivered_installations")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FORWARD_SECRET_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_INSTALLATIONS_FIELD_NUMBER: _ClassVar[int]
    message_id: bytes
    forward_secret: bool
    delivered_installations: int
    def __init__(self, message_id: _Optional[bytes] = ..., forward_secret: _Optional[bool] = ..., delivered_installations: _Optional[int] = ...) -> None: ...

class SubscribeEventsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class AckEventsRequest(_message.Message):
    __slots__ = ("event_ids",)
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    event_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, event_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class AckEventsResponse(_message.Message):
    __slots__ = ("acknowledged",)
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    acknowledged: int
    def __init__(self, acknowledged: _Optional[int] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("contact", "limit")
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    contact: str
    limit: int
    def __init__(self, contact: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ...) -> None: ...

class CreateLinkPayloadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateLinkPayloadResponse(_message.Message):
    __slots__ = ("payload",)
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    def __init__(self, payload: _Optional[bytes] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "received_at", "message_received", "message_synced", "installation_added", "installation_changed", "bundle_updated", "bundle_rejected", "undecryptable_message", "session_reset", "message_blocked", "identity_changed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_SYNCED_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ADDED_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_CHANGED_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_UPDATED_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_REJECTED_FIELD_NUMBER: _ClassVar[int]
    UNDECRYPTABLE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_RESET_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_CHANGED_FIELD_NUMBER: _ClassVar[int]
    event_id: int
    received_at: int
    message_received: MessageReceived
    message_synced: MessageSynced
    installation_added: InstallationAdded
    installation_changed: InstallationChanged
    bundle_updated: BundleUpdated
    bundle_rejected: BundleRejected
    undecryptable_message: UndecryptableMessage
    session_reset: SessionReset
    message_blocked: MessageBlocked
    identity_changed: IdentityChanged
    def __init__(self, event_id: _Optional[int] = ..., received_at: _Optional[int] = ..., message_received: _Optional[_Union[MessageReceived, _Mapping]] = ..., message_synced: _Optional[_Union[MessageSynced, _Mapping]] = ..., installation_added: _Optional[_Union[InstallationAdded, _Mapping]] = ..., installation_changed: _Optional[_Union[InstallationChanged, _Mapping]] = ..., bundle_updated: _Optional[_Union[BundleUpdated, _Mapping]] = ..., bundle_rejected: _Optional[_Union[BundleRejected, _Mapping]] = ..., undecryptable_message: _Optional[_Union[UndecryptableMessage, _Mapping]] = ..., session_reset: _Optional[_Union[SessionReset, _Mapping]] = ..., message_blocked: _Optional[_Union[MessageBlocked, _Mapping]] = ..., identity_changed: _Optional[_Union[IdentityChanged, _Mapping]] = ...) -> None: ...

class MessageReceived(_message.Message):
    __slots__ = ("sender_account_id", "sender_installation_id", "sender_name", "body", "message_id", "forward_secret", "redelivered")
    SENDER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FORWARD_SECRET_FIELD_NUMBER: _ClassVar[int]
    REDELIVERED_FIELD_NUMBER: _ClassVar[int]
    sender_account_id: bytes
    sender_installation_id: bytes
    sender_name: str
    body: bytes
    message_id: bytes
    forward_secret: bool
    redelivered: bool
    def __init__(self, sender_account_id: _Optional[bytes] = ..., sender_installation_id: _Optional[bytes] = ..., sender_name: _Optional[str] = ..., body: _Optional[bytes] = ..., message_id: _Optional[bytes] = ..., forward_secret: _Optional[bool] = ..., redelivered: _Optional[bool] = ...) -> None: ...

class MessageSynced(_message.Message):
    __slots__ = ("peer_account_id", "installation_id", "peer_name", "body", "message_id")
    PEER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_NAME_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    peer_account_id: bytes
    installation_id: bytes
    peer_name: str
    body: bytes
    message_id: bytes
    def __init__(self, peer_account_id: _Optional[bytes] = ..., installation_id: _Optional[bytes] = ..., peer_name: _Optional[str] = ..., body: _Optional[bytes] = ..., message_id: _Optional[bytes] = ...) -> None: ...

class InstallationAdded(_message.Message):
    __slots__ = ("account_id", "installation_id", "own")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    OWN_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    installation_id: bytes
    own: bool
    def __init__(self, account_id: _Optional[bytes] = ..., installation_id: _Optional[bytes] = ..., own: _Optional[bool] = ...) -> None: ...

class InstallationChanged(_message.Message):
    __slots__ = ("account_id", "installation_id", "own")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    OWN_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    installation_id: bytes
    own: bool
    def __init__(self, account_id: _Optional[bytes] = ..., installation_id: _Optional[bytes] = ..., own: _Optional[bool] = ...) -> None: ...

class BundleUpdated(_message.Message):
    __slots__ = ("account_id", "bundle_timestamp", "own")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    OWN_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    bundle_timestamp: int
    own: bool
    def __init__(self, account_id: _Optional[bytes] = ..., bundle_timestamp: _Optional[int] = ..., own: _Optional[bool] = ...) -> None: ...

class BundleRejected(_message.Message):
    __slots__ = ("account_id", "reason")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    reason: str
    def __init__(self, account_id: _Optional[bytes] = ..., reason: _Optional[str] = ...) -> None: ...

class UndecryptableMessage(_message.Message):
    __slots__ = ("sender_account_id", "sender_installation_id", "reason", "session_reset_sent")
    SENDER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SESSION_RESET_SENT_FIELD_NUMBER: _ClassVar[int]
    sender_account_id: bytes
    sender_installation_id: bytes
    reason: str
    session_reset_sent: bool
    def __init__(self, sender_account_id: _Optional[bytes] = ..., sender_installation_id: _Optional[bytes] = ..., reason: _Optional[str] = ..., session_reset_sent: _Optional[bool] = ...) -> None: ...

class SessionReset(_message.Message):
    __slots__ = ("account_id", "installation_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    installation_id: bytes
    def __init__(self, account_id: _Optional[bytes] = ..., installation_id: _Optional[bytes] = ...) -> None: ...

class MessageBlocked(_message.Message):
    __slots__ = ("sender_account_id", "sender_installation_id", "message_id")
    SENDER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    sender_account_id: bytes
    sender_installation_id: bytes
    message_id: bytes
    def __init__(self, sender_account_id: _Optional[bytes] = ..., sender_installation_id: _Optional[bytes] = ..., message_id: _Optional[bytes] = ...) -> None: ...

class IdentityChanged(_message.Message):
    __slots__ = ("account_id", "installation_id", "was_verified")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    WAS_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    account_id: bytes
    installation_id: bytes
    was_verified: bool
    def __init__(self, account_id: _Optional[bytes] = ..., installation_id: _Optional[bytes] = ..., was_verified: _Optional[bool] = ...) -> None: ...
