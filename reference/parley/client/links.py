"""Devices and links: the payload that joins (or restores) an installation.

A link payload holds the identity PRIVATE key, the account's bundles and its
contacts. :func:`export_link` writes it from a running installation;
:func:`parse_link` reads it back, and :func:`import_link` fills the new
installation's store from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..bundle import Bundle
from ..errors import ParleyError, RemoteError
from ..keys import INSTALLATION_ID_SIZE, IdentityKey, IdentityKeyPair
from ..profile import PROFILE_1, Profile
from ..state import dump_identity, load_identity
from .errors import InvalidLinkPayload
from .stores import Stores

__all__ = ["LINK_MAGIC", "LinkPayload", "export_link", "import_link", "parse_link"]

LINK_MAGIC = b"parley-link-1\n"
#: The largest link payload read (thousands of contacts with their bundles fit).
MAX_LINK_BYTES = 16 << 20
#: The longest contact name a payload may carry.
MAX_NAME_CHARS = 1000


@dataclass(frozen=True, slots=True)
class LinkPayload:
    identity: IdentityKeyPair = field(repr=False)
    installation_id: bytes | None  # set for a restore: the installation it restores
    bundles: list[Bundle]  # the account's last own bundle first, then its siblings'
    contacts: list[tuple[str | None, IdentityKey, Bundle | None]]


def export_link(st: Stores, now: int, *, restore: bool) -> bytes:
    own = st.own_bundle(now)
    siblings = [b.hex() for _i, b, _pk, _fs in st.directory.sibling_rows() if b is not None]
    contacts = [
        {
            "name": row.name,
            "identity": row.identity.hex(),
            "bundle": row.bundle.hex() if row.bundle else None,
        }
        for row in st.directory.contact_rows()
    ]
    body = {
        "kind": "restore" if restore else "link",
        "identity": dump_identity(st.local.identity).hex(),
        "installation_id": st.installation_id.hex() if restore else None,
        "own_bundle": own.to_bytes().hex(),
        "siblings": siblings,
        "contacts": contacts,
    }
    return LINK_MAGIC + json.dumps(body, sort_keys=True).encode()


def _hex(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError("hex is text")
    return bytes.fromhex(value)


def _name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME_CHARS:
        raise TypeError("a contact name is text of at most MAX_NAME_CHARS characters")
    value.encode("utf-8")  # a lone surrogate cannot be stored: UnicodeEncodeError
    return value


def _list(value: object) -> list:
    if not isinstance(value, list):
        raise TypeError("a list")
    return value


def parse_link(payload: bytes, profile: Profile = PROFILE_1) -> LinkPayload:
    """Decode and check a link payload completely (identity bindings included),
    so that nothing is created from one that would fail half-way."""
    if not isinstance(payload, bytes):
        raise InvalidLinkPayload("a link payload is bytes")
    if len(payload) > MAX_LINK_BYTES:
        raise InvalidLinkPayload(f"a link payload is at most {MAX_LINK_BYTES >> 20} MiB")
    damaged = InvalidLinkPayload("not a Parley link payload, or a damaged one")
    if not payload.startswith(LINK_MAGIC):
        raise damaged
    try:
        body = json.loads(payload[len(LINK_MAGIC) :])
        if not isinstance(body, dict) or body.get("kind") not in ("link", "restore"):
            raise ValueError("kind")
        identity = load_identity(_hex(body["identity"]))  # verifies its binding
        iid = None
        if body["kind"] == "restore":
            iid = _hex(body["installation_id"])
            if len(iid) != INSTALLATION_ID_SIZE:
                raise ValueError("installation id")
        bundles = [Bundle.from_bytes(_hex(body["own_bundle"]))]
        bundles += [Bundle.from_bytes(_hex(b)) for b in _list(body["siblings"])]
        contacts = []
        for c in _list(body["contacts"]):
            if not isinstance(c, dict):
                raise TypeError("a contact is an object")
            ident = IdentityKey.from_bytes(_hex(c["identity"]))
            ident.verify(profile)
            bundle = Bundle.from_bytes(_hex(c["bundle"])) if c["bundle"] is not None else None
            contacts.append((_name(c["name"]), ident, bundle))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, ParleyError):
        # RecursionError: deeply nested JSON; ValueError: bad JSON, hex, UTF-8
        raise damaged from None
    if any(b.identity != identity.public for b in bundles):
        raise InvalidLinkPayload("the payload's bundles are not of its identity")
    return LinkPayload(identity, iid, bundles, contacts)


def import_link(st: Stores, link: LinkPayload, now: int) -> None:
    """Fill a new installation's store (inside its transaction)."""
    # The account's last bundle: the new installation's own bundle will be
    # newer than it, so peers take it (a restored installation's new prekeys).
    st.local.set_bundle(link.bundles[0])
    for bundle in link.bundles:
        try:
            bundle.verify(now, st.profile)
        except RemoteError:
            continue
        st.directory.store_bundle(bundle, now)
    for name, ident, bundle in link.contacts:
        ident.verify(st.profile)
        st.directory.add_account_if_new(ident, name, now)
        if bundle is not None and bundle.identity == ident:
            try:
                bundle.verify(now, st.profile)
            except RemoteError:
                continue
            st.directory.store_bundle(bundle, now)
